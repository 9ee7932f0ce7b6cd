//! NOR flash semantics over a byte image in RAM: erased bytes read 0xFF, writes can only
//! clear bits, erases set whole pages back. The host example persists the image to a file;
//! tests cut the power at any write.

use alloc::vec;
use alloc::vec::Vec;

use embedded_storage_async::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

/// The erase size, in bytes.
pub const PAGE: usize = 4096;
/// The write and read granularity, in bytes.
pub const WORD: usize = 4;

/// A NOR flash in RAM (see the module's documentation), with a power cut on demand.
pub struct RamFlash {
    image: Vec<u8>,
    /// Writes and erases left before the power goes (tests); `None`: never.
    pub power_left: Option<usize>,
}

impl RamFlash {
    /// An erased flash of `pages` pages.
    pub fn erased(pages: usize) -> RamFlash {
        RamFlash::from_image(vec![0xFF; pages * PAGE])
    }

    /// A flash holding `image` (a whole number of pages).
    pub fn from_image(image: Vec<u8>) -> RamFlash {
        RamFlash {
            image,
            power_left: None,
        }
    }

    /// The flash's bytes, to persist or inspect.
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    fn spend(&mut self) -> Result<(), NorFlashErrorKind> {
        match &mut self.power_left {
            Some(0) => Err(NorFlashErrorKind::Other),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, NorFlashErrorKind> {
        let start = offset as usize;
        let end = start
            .checked_add(len)
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        if end > self.image.len() {
            return Err(NorFlashErrorKind::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl ErrorType for RamFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let r = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(&self.image[r]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.image.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        if !(from as usize).is_multiple_of(PAGE) || !(to as usize).is_multiple_of(PAGE) {
            return Err(NorFlashErrorKind::NotAligned);
        }
        let r = self.range(from, (to - from) as usize)?;
        self.spend()?;
        self.image[r].fill(0xFF);
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if !(offset as usize).is_multiple_of(WORD) || !bytes.len().is_multiple_of(WORD) {
            return Err(NorFlashErrorKind::NotAligned);
        }
        let r = self.range(offset, bytes.len())?;
        self.spend()?;
        for (cell, b) in self.image[r].iter_mut().zip(bytes) {
            *cell &= b;
        }
        Ok(())
    }
}

/// Writes clear bits only, so writing a word twice is allowed (sequential-storage marks
/// removed items that way).
impl MultiwriteNorFlash for RamFlash {}
