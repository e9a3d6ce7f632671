//! One process at a time: the lock on a durable database's directory.

use std::any::Any;
use std::io::ErrorKind;
use std::path::Path;

use super::fs::{Fs, shown};
use crate::Error;

/// Held while a database is open; the directory is free again once dropped.
pub(crate) struct DirLock {
    _guard: Box<dyn Any + Send + Sync>,
}

/// Locks `dir`, or fails at once if another open holds it.
pub(crate) fn lock(fs: &dyn Fs, dir: &Path) -> Result<DirLock, Error> {
    match fs.lock_dir(dir) {
        Ok(guard) => Ok(DirLock { _guard: guard }),
        Err(error) if error.kind() == ErrorKind::WouldBlock => {
            Err(Error::Locked { dir: shown(dir) })
        }
        Err(error) => Err(Error::Io {
            action: format!("locking {}", shown(dir)),
            message: error.to_string(),
        }),
    }
}
