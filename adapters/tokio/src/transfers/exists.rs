//! FastrSettings' `FileExistsAction`, applied to a fresh plan: a file the destination already
//! holds is overwritten (the default), left alone when it holds the same content
//! (SkipIfSame: same size, and a hash of one side in the form of the other's ETag), or kept
//! while the new one goes beside it under a numbered name (KeepBoth: `name (1).ext`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use click_core::transfers::paths::free_name;
use click_core::transfers::settings::FileExistsAction;
use click_core::transfers::{Direction, ObjectCounts};

use super::files::FileState;
use super::job::{Job, JobResult, from_storage};
use crate::cloud::{Stored, etag};

/// Applies `action` to `plan` (renaming or dropping its files); skipped files are counted in
/// `counts`.
pub(crate) async fn apply(
    job: &Job<'_>,
    direction: Direction,
    action: FileExistsAction,
    plan: &mut Vec<FileState>,
    counts: &mut ObjectCounts,
) -> JobResult<()> {
    if action == FileExistsAction::Overwrite || plan.is_empty() {
        return Ok(());
    }
    let kept = match direction {
        Direction::Upload | Direction::Copy => in_bucket(job, action, std::mem::take(plan)).await?,
        Direction::Download => {
            let files = std::mem::take(plan);
            tokio::task::spawn_blocking(move || on_disk(action, files))
                .await
                .map_err(|e| e.to_string())?
        }
    };
    for skipped in &kept.skipped {
        counts.skipped += 1;
        counts.skipped_bytes += skipped.size;
    }
    *plan = kept.files;
    for (i, f) in plan.iter_mut().enumerate() {
        f.index = i;
    }
    Ok(())
}

struct Kept {
    files: Vec<FileState>,
    skipped: Vec<FileState>,
}

/// Uploads and cloud-to-cloud copies: against what the destination bucket holds.
async fn in_bucket(
    job: &Job<'_>,
    action: FileExistsAction,
    files: Vec<FileState>,
) -> JobResult<Kept> {
    let prefix = common_prefix(files.iter().map(|f| f.key.as_str()));
    let existing: HashMap<String, Stored> =
        from_storage(job.remote.list_all(&job.bucket, &prefix).await)?
            .into_iter()
            .map(|o| (o.key.clone(), o))
            .collect();
    let mut taken: HashSet<String> = files.iter().map(|f| f.key.clone()).collect();
    let mut kept = Kept {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    for mut f in files {
        let Some(there) = existing.get(&f.key) else {
            kept.files.push(f);
            continue;
        };
        match action {
            FileExistsAction::SkipIfSame if same_in_bucket(job, &f, there).await => {
                kept.skipped.push(f);
                continue;
            }
            FileExistsAction::KeepBoth => {
                let key = free_name(&f.key, |k| existing.contains_key(k) || taken.contains(k));
                taken.insert(key.clone());
                f.key = key;
            }
            _ => {}
        }
        kept.files.push(f);
    }
    Ok(kept)
}

/// Whether the destination's object holds what `f` would write there.
async fn same_in_bucket(job: &Job<'_>, f: &FileState, there: &Stored) -> bool {
    if there.size != f.size {
        return false;
    }
    // Some servers list no ETags: a HEAD says it then.
    let theirs = match &there.etag {
        Some(etag) => Some(etag.clone()),
        None => (job.remote.stat(&job.bucket, &f.key, job.attempts()).await)
            .ok()
            .and_then(|s| s.etag),
    };
    let Some(theirs) = theirs.as_deref() else {
        return false;
    };
    if let Some(source) = &job.source {
        // Two objects: their ETags say it, when both servers make them the same way.
        let ours = match (&f.etag, &f.source_key) {
            (Some(etag), _) => Some(etag.clone()),
            (None, Some(key)) => (source
                .provider
                .stat(&source.bucket, key, job.attempts())
                .await)
                .ok()
                .and_then(|s| s.etag),
            (None, None) => None,
        };
        return ours.as_deref() == Some(theirs);
    }
    let (local, size, like, part) = (
        f.local.clone(),
        f.size,
        theirs.to_string(),
        job.options.chunk_size,
    );
    let hashed = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(local)?;
        etag::content_etags(file, size, &like, part)
    });
    matches!(hashed.await, Ok(Ok(etags)) if etags.iter().any(|e| e == theirs))
}

/// Downloads: against the files in the local folder.
fn on_disk(action: FileExistsAction, files: Vec<FileState>) -> Kept {
    let mut taken: HashSet<PathBuf> = files.iter().map(|f| f.local.clone()).collect();
    let mut kept = Kept {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    for mut f in files {
        if !f.local.exists() {
            kept.files.push(f);
            continue;
        }
        match action {
            FileExistsAction::SkipIfSame if same_on_disk(&f) => {
                kept.skipped.push(f);
                continue;
            }
            FileExistsAction::KeepBoth => {
                let path = f.local.to_string_lossy().into_owned();
                let free = free_name(&path, |p| {
                    Path::new(p).exists() || taken.contains(Path::new(p))
                });
                f.local = PathBuf::from(free);
                taken.insert(f.local.clone());
            }
            _ => {}
        }
        kept.files.push(f);
    }
    kept
}

/// Whether the local file holds the object `f` downloads.
fn same_on_disk(f: &FileState) -> bool {
    let Some(theirs) = f.etag.as_deref() else {
        return false;
    };
    let sized = std::fs::metadata(&f.local).is_ok_and(|m| m.is_file() && m.len() == f.size);
    let hashed = || {
        let file = std::fs::File::open(&f.local)?;
        etag::content_etags(file, f.size, theirs, 0)
    };
    sized && hashed().is_ok_and(|etags| etags.iter().any(|e| e == theirs))
}

/// The longest prefix of every key, cut after a `/`: the one listing that shows them all.
fn common_prefix<'a>(mut keys: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = keys.next() else {
        return String::new();
    };
    let mut len = first.len();
    for k in keys {
        len = first
            .bytes()
            .zip(k.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    let common = &first[..len];
    match common.rfind('/') {
        Some(i) if len < first.len() || first.ends_with('/') => common[..=i].to_string(),
        // One key: the listing of that key shows it.
        _ if len == first.len() => first.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_listing_covers_every_key() {
        let keys = ["a/b/c.txt", "a/b/d.txt", "a/bx.txt"];
        assert_eq!(common_prefix(keys.into_iter()), "a/");
        assert_eq!(common_prefix(["a/b/c.txt"].into_iter()), "a/b/c.txt");
        assert_eq!(common_prefix(["x.txt", "y.txt"].into_iter()), "");
        assert_eq!(common_prefix(["a/b/1", "a/b/2"].into_iter()), "a/b/");
    }
}
