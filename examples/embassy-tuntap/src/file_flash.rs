//! The device's NOR flash, emulated by a file: NOR semantics from `RamFlash` over the file's
//! image, every write and erase passed through to the file, so the flash store's contents
//! survive the process.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use click_embassy::ram_flash::{PAGE, RamFlash};
use embedded_storage_async::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

pub struct FileFlash {
    flash: RamFlash,
    file: File,
}

impl FileFlash {
    /// Opens `path`, or creates it as an erased flash of `pages` pages.
    pub fn open(path: &Path, pages: usize) -> std::io::Result<FileFlash> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut image = Vec::new();
        file.read_to_end(&mut image)?;
        if image.len() != pages * PAGE {
            image = vec![0xFF; pages * PAGE];
            file.set_len(0)?;
            file.write_all_at(&image, 0)?;
        }
        Ok(FileFlash {
            flash: RamFlash::from_image(image),
            file,
        })
    }

    /// Passes `len` bytes at `offset`, as the flash now holds them, to the file.
    fn persist(&self, offset: u32, len: usize) -> Result<(), NorFlashErrorKind> {
        let start = offset as usize;
        self.file
            .write_all_at(&self.flash.image()[start..start + len], offset.into())
            .map_err(|_| NorFlashErrorKind::Other)
    }
}

impl ErrorType for FileFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for FileFlash {
    const READ_SIZE: usize = RamFlash::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.flash.read(offset, bytes).await
    }

    fn capacity(&self) -> usize {
        self.flash.capacity()
    }
}

impl NorFlash for FileFlash {
    const WRITE_SIZE: usize = RamFlash::WRITE_SIZE;
    const ERASE_SIZE: usize = RamFlash::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.flash.erase(from, to).await?;
        self.persist(from, (to - from) as usize)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.flash.write(offset, bytes).await?;
        self.persist(offset, bytes.len())
    }
}

impl MultiwriteNorFlash for FileFlash {}
