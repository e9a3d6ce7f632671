//! The one seam between durable stores and the filesystem.
//!
//! Everything the log, the checkpoints and recovery do to files goes through
//! [`Fs`]: the real filesystem implements it, and so does the simulated one
//! tests use (`testing::SimFs`) to fail a write half way, run out of space,
//! fail an fsync, or lose power and drop, reorder and tear every write not yet
//! fsynced.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A filesystem, as durable stores use it.
pub trait Fs: Send + Sync {
    /// Makes `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the files in `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// The whole content of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates (or empties) a file, to append to.
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Opens an existing file to append to it.
    fn append(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Cuts a file to `len` bytes and syncs it.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames a file (atomically, replacing `to`).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Locks `dir` against every other open, in this process or another, until
    /// the returned guard is dropped.
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn std::any::Any + Send + Sync>>;
}

/// A file open for appending. Methods take `&self`: one thread appends while
/// another fsyncs.
pub trait FsFile: Send + Sync {
    /// Appends all of `bytes`, or fails having appended some prefix of them.
    fn write_all(&self, bytes: &[u8]) -> io::Result<()>;
    /// Makes what was appended durable.
    fn sync(&self) -> io::Result<()>;
    /// Cuts the file to `len` bytes (taking back a failed append); the next
    /// append goes at `len`.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Writes `len` zero bytes at `offset`, at or past where the next append
    /// goes, without moving it: appends then overwrite blocks the file
    /// already has, and the fsync that makes them durable need not also
    /// record a new file size. A file that does not (the default) just
    /// grows with its appends.
    fn preallocate(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Ok(())
    }
}

/// The operating system's filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

struct RealFile(File);

/// The most zeros [`RealFile::preallocate`] writes in one call.
#[cfg(unix)]
const PREALLOCATE_PIECE: usize = 64 << 10;

impl FsFile for RealFile {
    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        (&self.0).write_all(bytes)
    }

    fn sync(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)?;
        // A failed append moved the file's position past `len`: the next
        // one must not leave a hole.
        (&self.0).seek(SeekFrom::Start(len)).map(drop)
    }

    #[cfg(unix)]
    fn preallocate(&self, offset: u64, len: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        // In pieces: the page cache gives a write folios as large as the
        // write (Linux 6.x), and every later small append into a folio of
        // megabytes walks all of its blocks; appends into a file
        // preallocated 4 MiB at a time cost three times as much.
        static ZEROS: [u8; PREALLOCATE_PIECE] = [0; PREALLOCATE_PIECE];
        let end = offset.saturating_add(len);
        let mut at = offset;
        while at < end {
            let piece = usize::try_from(end - at)
                .map_or(PREALLOCATE_PIECE, |left| left.min(PREALLOCATE_PIECE));
            self.0.write_all_at(&ZEROS[..piece], at)?;
            at += piece as u64;
        }
        Ok(())
    }
}

impl Fs for RealFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(names)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(RealFile(file)))
    }

    fn append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(RealFile(file)))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn std::any::Any + Send + Sync>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the directory is locked",
            )),
            Err(std::fs::TryLockError::Error(error)) => Err(error),
        }
    }
}

/// `path` as error messages name it.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// `dir/name`.
pub(crate) fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A simulated filesystem for tests: files in memory, every write kept apart
/// from what is durable until fsynced, faults injected on demand, and a power
/// loss that keeps only what was synced plus a random, torn, partly reordered
/// share of the rest.
#[cfg(feature = "testing")]
pub mod testing {
    use std::collections::{BTreeMap, HashSet};
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::{Fs, FsFile};

    /// A fault the next matching call meets.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        /// The next append writes half its bytes, then fails.
        ShortWrite,
        /// The next append writes nothing and fails: no space left.
        NoSpace,
        /// The next file fsync fails (and what it should have made durable
        /// may be lost).
        SyncError,
    }

    #[derive(Default, Clone)]
    struct Node {
        /// What reads see.
        data: Vec<u8>,
        /// What survives a power loss for sure.
        synced: Vec<u8>,
    }

    #[derive(Default)]
    struct Disk {
        nodes: Vec<Node>,
        /// Names as reads see them, and as they were at the last directory sync.
        names: BTreeMap<PathBuf, usize>,
        synced_names: BTreeMap<PathBuf, usize>,
        faults: Vec<Fault>,
        /// Locked directories, with the power-on epoch that locked them.
        locked: HashSet<(PathBuf, u64)>,
        seed: u64,
        /// Counts power losses: a handle from before one is dead.
        epoch: u64,
        writes: u64,
    }

    impl Disk {
        fn random(&mut self) -> u64 {
            // xorshift64*
            self.seed ^= self.seed >> 12;
            self.seed ^= self.seed << 25;
            self.seed ^= self.seed >> 27;
            self.seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn take_fault(&mut self, wanted: &[Fault]) -> Option<Fault> {
            let at = self.faults.iter().position(|f| wanted.contains(f))?;
            Some(self.faults.remove(at))
        }

        fn node(&self, path: &Path) -> io::Result<usize> {
            self.names
                .get(path)
                .copied()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
        }
    }

    /// The simulated filesystem. Clones share one disk.
    #[derive(Clone, Default)]
    pub struct SimFs {
        disk: Arc<Mutex<Disk>>,
        gate: Arc<Gate>,
    }

    /// Holds fsyncs back while closed, so tests can line commits up behind one.
    #[derive(Default)]
    struct Gate {
        closed: Mutex<bool>,
        opened: parking_lot::Condvar,
    }

    impl SimFs {
        /// An empty disk whose power losses draw from `seed`.
        pub fn new(seed: u64) -> SimFs {
            let fs = SimFs::default();
            fs.disk.lock().seed = seed | 1;
            fs
        }

        /// Holds every fsync back until [`release_syncs`](Self::release_syncs).
        pub fn hold_syncs(&self) {
            *self.gate.closed.lock() = true;
        }

        /// Lets held fsyncs go on.
        pub fn release_syncs(&self) {
            *self.gate.closed.lock() = false;
            self.gate.opened.notify_all();
        }

        /// How many appends files have received.
        pub fn writes(&self) -> u64 {
            self.disk.lock().writes
        }

        /// Makes a later call fail: faults are met in the order injected.
        pub fn inject(&self, fault: Fault) {
            self.disk.lock().faults.push(fault);
        }

        /// Loses power: every file keeps what was fsynced, plus a random
        /// prefix of what was not, in which random 512-byte pages are lost
        /// (written out of order) and the last one may be torn; directory
        /// changes not synced may each be lost. Locks are released, as the
        /// crashed process's would be.
        pub fn power_loss(&self) {
            let mut disk = self.disk.lock();
            disk.locked.clear();
            disk.faults.clear();
            disk.epoch += 1;
            let count = disk.nodes.len();
            for index in 0..count {
                let Node { data, synced } = disk.nodes[index].clone();
                let mut after = synced.clone();
                if data.len() > synced.len() && data.starts_with(&synced) {
                    let extra = &data[synced.len()..];
                    let keep = (disk.random() % (extra.len() as u64 + 1)) as usize;
                    let mut kept = extra[..keep].to_vec();
                    for page in kept.chunks_mut(512) {
                        if disk.random().is_multiple_of(4) {
                            page.fill(0);
                        }
                    }
                    after.extend_from_slice(&kept);
                } else if data.len() < synced.len() && synced.starts_with(&data) {
                    // A cut not yet synced may or may not have reached the disk.
                    if disk.random().is_multiple_of(2) {
                        after = data;
                    }
                }
                disk.nodes[index] = Node {
                    data: after.clone(),
                    synced: after,
                };
            }
            let current = disk.names.clone();
            let old = disk.synced_names.clone();
            let mut names = BTreeMap::new();
            let all: std::collections::BTreeSet<_> =
                current.keys().chain(old.keys()).cloned().collect();
            for name in all {
                let pick = match (current.get(&name), old.get(&name)) {
                    (a, b) if a == b => a.copied(),
                    (a, b) => {
                        if disk.random().is_multiple_of(2) {
                            a.copied()
                        } else {
                            b.copied()
                        }
                    }
                };
                if let Some(node) = pick {
                    names.insert(name, node);
                }
            }
            disk.synced_names = names.clone();
            disk.names = names;
        }

        /// Overwrites a file's bytes as they are now, durably (a test planting damage).
        pub fn put(&self, path: &Path, bytes: Vec<u8>) {
            let mut disk = self.disk.lock();
            let node = match disk.names.get(path) {
                Some(&node) => node,
                None => {
                    disk.nodes.push(Node::default());
                    let node = disk.nodes.len() - 1;
                    disk.names.insert(path.to_path_buf(), node);
                    disk.synced_names.insert(path.to_path_buf(), node);
                    node
                }
            };
            disk.nodes[node] = Node {
                data: bytes.clone(),
                synced: bytes,
            };
        }
    }

    struct SimFile {
        disk: Arc<Mutex<Disk>>,
        gate: Arc<Gate>,
        node: usize,
        epoch: u64,
    }

    fn dead() -> io::Error {
        io::Error::other("the power is off")
    }

    impl FsFile for SimFile {
        fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
            let mut disk = self.disk.lock();
            if disk.epoch != self.epoch {
                return Err(dead());
            }
            disk.writes += 1;
            match disk.take_fault(&[Fault::ShortWrite, Fault::NoSpace]) {
                Some(Fault::ShortWrite) => {
                    let half = &bytes[..bytes.len() / 2];
                    disk.nodes[self.node].data.extend_from_slice(half);
                    Err(io::Error::new(io::ErrorKind::WriteZero, "short write"))
                }
                Some(_) => Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device",
                )),
                None => {
                    disk.nodes[self.node].data.extend_from_slice(bytes);
                    Ok(())
                }
            }
        }

        fn sync(&self) -> io::Result<()> {
            {
                let mut closed = self.gate.closed.lock();
                while *closed {
                    self.gate.opened.wait(&mut closed);
                }
            }
            let mut disk = self.disk.lock();
            if disk.epoch != self.epoch {
                return Err(dead());
            }
            if disk.take_fault(&[Fault::SyncError]).is_some() {
                return Err(io::Error::other("fsync failed: I/O error"));
            }
            let node = &mut disk.nodes[self.node];
            node.synced = node.data.clone();
            Ok(())
        }

        fn set_len(&self, len: u64) -> io::Result<()> {
            let mut disk = self.disk.lock();
            if disk.epoch != self.epoch {
                return Err(dead());
            }
            let len = usize::try_from(len).map_err(io::Error::other)?;
            disk.nodes[self.node].data.resize(len, 0);
            Ok(())
        }
    }

    impl Fs for SimFs {
        fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
            Ok(())
        }

        fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
            let disk = self.disk.lock();
            Ok(disk
                .names
                .keys()
                .filter(|path| path.parent() == Some(dir))
                .filter_map(|path| path.file_name())
                .map(|name| name.to_string_lossy().into_owned())
                .collect())
        }

        fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
            let disk = self.disk.lock();
            Ok(disk.nodes[disk.node(path)?].data.clone())
        }

        fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
            let mut disk = self.disk.lock();
            disk.nodes.push(Node::default());
            let node = disk.nodes.len() - 1;
            disk.names.insert(path.to_path_buf(), node);
            Ok(Box::new(SimFile {
                disk: Arc::clone(&self.disk),
                gate: Arc::clone(&self.gate),
                node,
                epoch: disk.epoch,
            }))
        }

        fn append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
            let disk = self.disk.lock();
            let node = disk.node(path)?;
            Ok(Box::new(SimFile {
                disk: Arc::clone(&self.disk),
                gate: Arc::clone(&self.gate),
                node,
                epoch: disk.epoch,
            }))
        }

        fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
            let mut disk = self.disk.lock();
            let node = disk.node(path)?;
            let len = usize::try_from(len).map_err(io::Error::other)?;
            let node = &mut disk.nodes[node];
            node.data.truncate(len);
            node.synced = node.data.clone();
            Ok(())
        }

        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            let mut disk = self.disk.lock();
            let node = disk.node(from)?;
            disk.names.remove(from);
            disk.names.insert(to.to_path_buf(), node);
            Ok(())
        }

        fn remove(&self, path: &Path) -> io::Result<()> {
            let mut disk = self.disk.lock();
            disk.node(path)?;
            disk.names.remove(path);
            Ok(())
        }

        fn sync_dir(&self, dir: &Path) -> io::Result<()> {
            let mut disk = self.disk.lock();
            let current: Vec<_> = disk
                .names
                .iter()
                .filter(|(path, _)| path.parent() == Some(dir))
                .map(|(path, node)| (path.clone(), *node))
                .collect();
            disk.synced_names
                .retain(|path, _| path.parent() != Some(dir));
            disk.synced_names.extend(current);
            Ok(())
        }

        fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn std::any::Any + Send + Sync>> {
            let mut disk = self.disk.lock();
            let epoch = disk.epoch;
            if disk.locked.iter().any(|(locked, _)| locked == dir)
                || !disk.locked.insert((dir.to_path_buf(), epoch))
            {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the directory is locked",
                ));
            }
            Ok(Box::new(SimLock {
                disk: Arc::clone(&self.disk),
                key: (dir.to_path_buf(), epoch),
            }))
        }
    }

    struct SimLock {
        disk: Arc<Mutex<Disk>>,
        key: (PathBuf, u64),
    }

    impl Drop for SimLock {
        fn drop(&mut self) {
            self.disk.lock().locked.remove(&self.key);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::{Fs, PREALLOCATE_PIECE, RealFs};

    #[test]
    fn preallocating_more_than_a_piece_writes_zeros_to_the_end_and_appends_stay_in_place() {
        let dir = std::env::temp_dir().join(format!("docstore-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("file");
        let file = RealFs.create(&path).unwrap();
        file.write_all(b"head").unwrap();
        let len = 2 * PREALLOCATE_PIECE as u64 + 123;
        file.preallocate(4, len).unwrap();
        file.write_all(b"next").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, 4 + len);
        assert_eq!(&bytes[..8], b"headnext");
        assert!(bytes[8..].iter().all(|&b| b == 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
