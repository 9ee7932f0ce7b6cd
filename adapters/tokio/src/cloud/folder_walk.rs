//! Folder trees of the providers that list one folder at a time (OneDrive, Google Drive, Box).
//! Listings of every file under a prefix: each page lists one page of one folder; the folders
//! still to list, and where in each, travel in the continuation token, so memory does not grow
//! with the tree and a walk can be taken up again from its token. And, for those that address
//! items by id (Google Drive, Box), the ids of the folders on a path, found a name at a time
//! from the root and kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use click_core::ports::StorageError;

use super::Stored;

/// What a folder's page holds, as keys of the bucket.
pub enum Entry {
    /// A folder, by its key (ending with `/`).
    Folder(String),
    File(Stored),
}

/// A folder to list (its key, ending with `/`, or empty for the bucket) and the provider's
/// token for the page to list next (none: its first).
type Pending = (String, Option<String>);

/// One page of the walk under `prefix` that `continuation` took up (none: a new walk):
/// `list(folder, token)` lists one page of a folder. The files of the page that are under
/// `prefix`, and the walk's next token while folders remain.
pub async fn page<F, Fut>(
    provider: &str,
    prefix: &str,
    continuation: Option<&str>,
    list: F,
) -> Result<(Vec<Stored>, Option<String>), StorageError>
where
    F: FnOnce(String, Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<Entry>, Option<String>), StorageError>>,
{
    let mut queue: Vec<Pending> = match continuation {
        Some(c) => serde_json::from_str(c).map_err(|_| {
            StorageError::Invalid(format!("the continuation token is not a {provider} walk"))
        })?,
        None => vec![(folder_of(prefix), None)],
    };
    let Some((folder, token)) = queue.pop() else {
        return Ok((Vec::new(), None));
    };
    let (entries, next) = list(folder.clone(), token).await?;
    if next.is_some() {
        queue.push((folder, next));
    }
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Entry::Folder(key) => queue.push((key, None)),
            Entry::File(f) if f.key.starts_with(prefix) => files.push(f),
            Entry::File(_) => {}
        }
    }
    let more = (!queue.is_empty()).then(|| serde_json::to_string(&queue).unwrap_or_default());
    Ok((files, more))
}

/// `prefix` up to its last `/` (the folder a listing of `prefix` reads).
pub fn folder_of(prefix: &str) -> String {
    prefix
        .rsplit_once('/')
        .map_or(String::new(), |(f, _)| format!("{f}/"))
}

/// The path of `key` in `bucket`, as its names.
pub fn names<'a>(bucket: &'a str, key: &'a str) -> Vec<&'a str> {
    [bucket, key]
        .into_iter()
        .flat_map(|p| p.split('/'))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The key of the item `name` of `folder` (which ends with `/` or is empty); a folder's ends
/// with `/`.
pub fn key_in(folder: &str, name: &str, is_folder: bool) -> String {
    match is_folder {
        true => format!("{folder}{name}/"),
        false => format!("{folder}{name}"),
    }
}

/// What a folder holds under a name.
pub enum Found {
    /// A folder, by its id.
    Folder(String),
    File,
    Missing,
}

/// The ids of folders by path (names joined by `/`; "" is the root), kept as they are found.
pub struct FolderIds(Mutex<HashMap<String, String>>);

impl FolderIds {
    pub fn new(root: &str) -> FolderIds {
        FolderIds(Mutex::new(HashMap::from([(
            String::new(),
            root.to_string(),
        )])))
    }

    /// The id of the folder at `path` (its names): `find(parent, name)` says what a folder
    /// holds under a name, `make(parent, name)` makes a missing folder when `make_missing`
    /// (else a missing one is `None`).
    pub async fn resolve<F, FF, M, MF>(
        &self,
        provider: &str,
        path: &[&str],
        make_missing: bool,
        find: F,
        make: M,
    ) -> Result<Option<String>, StorageError>
    where
        F: Fn(String, String) -> FF,
        FF: Future<Output = Result<Found, StorageError>>,
        M: Fn(String, String) -> MF,
        MF: Future<Output = Result<String, StorageError>>,
    {
        let mut id = self.known("").unwrap_or_default();
        for depth in 1..=path.len() {
            let here = path[..depth].join("/");
            if let Some(known) = self.known(&here) {
                id = known;
                continue;
            }
            let name = path[depth - 1].to_string();
            id = match find(id.clone(), name.clone()).await? {
                Found::Folder(found) => found,
                Found::File => {
                    return Err(StorageError::Invalid(format!(
                        "{provider}: {here} is a file, not a folder"
                    )));
                }
                Found::Missing if make_missing => make(id, name).await?,
                Found::Missing => return Ok(None),
            };
            lock(&self.0).insert(here, id.clone());
        }
        Ok(Some(id))
    }

    fn known(&self, path: &str) -> Option<String> {
        lock(&self.0).get(path).cloned()
    }

    /// Forgets the folder at `path` and those under it (deleted).
    pub fn forget(&self, path: &str) {
        let under = format!("{path}/");
        lock(&self.0).retain(|p, _| p != path && !p.starts_with(&under));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str) -> Entry {
        Entry::File(Stored {
            key: key.to_string(),
            size: 1,
            etag: None,
            modified_ms: None,
            content_md5: None,
        })
    }

    #[tokio::test]
    async fn a_walk_lists_folders_a_page_at_a_time_and_keeps_files_under_the_prefix() {
        assert_eq!(folder_of("photos/2026/x"), "photos/2026/");
        assert_eq!(folder_of("x"), "");
        let (files, more) = page("Test", "photos/a", None, |folder, token| async move {
            assert_eq!((folder.as_str(), token), ("photos/", None));
            let folder = Entry::Folder("photos/albums/".into());
            let entries = vec![file("photos/a.txt"), file("photos/b.txt"), folder];
            Ok((entries, Some("page-2".into())))
        })
        .await
        .unwrap();
        let keys: Vec<_> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["photos/a.txt"]);
        // The subfolder first (last in, first out), then the rest of photos/.
        let more = more.unwrap();
        let (_, more) = page(
            "Test",
            "photos/a",
            Some(&more),
            |folder, token| async move {
                assert_eq!((folder.as_str(), token), ("photos/albums/", None));
                Ok((vec![file("photos/albums/c.txt")], None))
            },
        )
        .await
        .unwrap();
        let (_, more) = page(
            "Test",
            "photos/a",
            more.as_deref(),
            |folder, token| async move {
                assert_eq!(
                    (folder.as_str(), token.as_deref()),
                    ("photos/", Some("page-2"))
                );
                Ok((Vec::new(), None))
            },
        )
        .await
        .unwrap();
        assert!(more.is_none());
        let bad = page("Test", "", Some("{"), |_, _| async {
            Ok((Vec::new(), None))
        })
        .await;
        assert!(matches!(bad, Err(StorageError::Invalid(_))));
    }
}
