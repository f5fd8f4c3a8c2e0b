//! Room kept for the journal's last words. An agent can fill the file system that holds the run
//! directory (it often is the workspace's); the journal must still be able to say so and to end
//! with `run.end`. The writer allocates the file's blocks ahead of its end (`fallocate` with
//! `FALLOC_FL_KEEP_SIZE`: the size stays, the blocks are the journal's) and never lets ordinary
//! records eat into the last [`RESERVE`] bytes of that: once no more can be allocated, what is
//! left is exactly the reserve, and only the write-error record and `run.end` go there.

use std::fs::File;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::fcntl::{FallocateFlags, fallocate};

/// Bytes held back for the closing records (a write-error record and `run.end` are well under
/// 4 KiB; the rest is margin for block rounding and extent metadata).
pub const RESERVE: u64 = 1024 * 1024;

pub(crate) struct Reserve {
    /// False on file systems without `fallocate`: the journal then has no reserve.
    enabled: bool,
    /// The file's blocks are allocated up to here.
    allocated: u64,
}

/// What [`Reserve::room`] found.
pub(crate) enum Room {
    /// The bytes fit and the reserve is intact behind them.
    Fits,
    /// The file system is full: only this many bytes fit before the reserve.
    Full { fits: u64, error: std::io::Error },
}

impl Reserve {
    /// Allocates the first stretch, reserve included. A file system too full for even that is an
    /// error: the run must not start with a journal that cannot close.
    pub fn new(file: &File) -> std::io::Result<Reserve> {
        let mut reserve = Reserve { enabled: true, allocated: 0 };
        match reserve.allocate(file, 0, 2 * RESERVE) {
            Ok(()) => Ok(reserve),
            Err(Errno::EOPNOTSUPP) => Ok(Reserve { enabled: false, allocated: 0 }),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `len` more bytes can be written at `eof` with the reserve still whole behind them,
    /// allocating more when needed (in steps of at least [`RESERVE`], so this is one system call
    /// per megabyte of journal, not one per write).
    pub fn room(&mut self, file: &File, eof: u64, len: u64) -> std::io::Result<Room> {
        if !self.enabled || eof + len + RESERVE <= self.allocated {
            return Ok(Room::Fits);
        }
        match self.allocate(file, eof, len + 2 * RESERVE) {
            Ok(()) => Ok(Room::Fits),
            Err(e @ (Errno::ENOSPC | Errno::EDQUOT)) => {
                let fits = self.allocated.saturating_sub(RESERVE).saturating_sub(eof);
                Ok(Room::Full { fits, error: e.into() })
            }
            Err(Errno::EOPNOTSUPP) => {
                self.enabled = false;
                Ok(Room::Fits)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Gives back what was allocated past `eof` once the journal is closed: the file then takes
    /// only the space of its lines. (Shrinking a file frees every block past its new end; the
    /// byte added first lies in blocks already allocated.)
    pub fn release(&mut self, file: &File, eof: u64) {
        if self.enabled && self.allocated > eof {
            let _ = file.set_len(eof + 1).and_then(|()| file.set_len(eof));
            self.allocated = eof;
        }
    }

    fn allocate(&mut self, file: &File, from: u64, len: u64) -> Result<(), Errno> {
        let (Ok(offset), Ok(size)) = (i64::try_from(from), i64::try_from(len)) else {
            return Err(Errno::EFBIG);
        };
        fallocate(file.as_raw_fd(), FallocateFlags::FALLOC_FL_KEEP_SIZE, offset, size)?;
        self.allocated = self.allocated.max(from + len);
        Ok(())
    }
}
