//! The redb database behind the store, as a handle that survives what a
//! plain [`Database`] does not: another process holding the file for a
//! moment, and an I/O error.
//!
//! **Waiting for the lock.** redb locks the whole file for one process. A
//! command run while another (say 20 `offer add` from a script) holds it
//! waits for it, a bounded while, instead of failing at once; a running node
//! holds the store for its whole life, so when one is found the wait stops.
//!
//! **Reopening after an I/O error.** After any failed read, write or sync
//! redb marks its `Database` as failed for good ("Previous I/O error
//! occurred. Please close and re-open the database."): a node whose disk was
//! full once would refuse every write until restarted. Every I/O of the
//! file goes through [`WatchedBackend`], which records a failure; the next
//! transaction asked for then closes the database and opens the file again
//! (redb repairs it to its last durable commit) before going on.
//!
//! The database sits behind `RwLock<Option<Arc<..>>>` so that the store can
//! be shared by `&self` across threads: a caller clones the `Arc` and lets
//! the lock go before starting its transaction (which may block behind the
//! writer), and a reopen only swaps the slot. A read transaction keeps its
//! database's `Arc` until it ends, so the old file closes when its last
//! reader is done (a write transaction defers redb's close by itself); until
//! then the new open sees the file locked and retries briefly.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redb::backends::FileBackend;
use redb::{
    BackendError, Database, DatabaseError, ReadTransaction, ReadableDatabase, StorageBackend, WriteTransaction,
};

use super::StoreError;

/// How long opening the store waits for another process to let it go.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
/// How long a reopen waits for the failed database's last users (an
/// unfinished transaction keeps its file locked).
const REOPEN_WAIT: Duration = Duration::from_secs(2);

/// One opened database, and whether its file has failed an I/O since.
#[derive(Debug)]
struct Opened {
    db: Database,
    failed: Arc<AtomicBool>,
}

#[derive(Debug)]
pub(super) struct Db {
    path: PathBuf,
    /// `None` after a failed database was closed and opening it again failed
    /// too: the next call tries again.
    current: RwLock<Option<Arc<Opened>>>,
}

impl Db {
    /// Opens (or creates) the database at `path`, waiting up to `wait` while
    /// another process holds it.
    pub(super) fn open(path: &Path, wait: Duration) -> Result<Db, StoreError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match open_file(path) {
                Ok(opened) => {
                    return Ok(Db {
                        path: path.to_owned(),
                        current: RwLock::new(Some(Arc::new(opened))),
                    });
                }
                Err(DatabaseError::DatabaseAlreadyOpen) => {
                    // A node keeps the store until it stops: waiting is pointless.
                    if let Some(pid) = running_node(path) {
                        return Err(StoreError::HeldByNode { pid });
                    }
                    if started.elapsed() >= wait {
                        return Err(StoreError::Locked);
                    }
                    // Short pauses, growing, with some jitter so that many
                    // waiting commands do not all retry in step.
                    let jitter = Duration::from_micros(rand::random::<u64>() % 5_000);
                    std::thread::sleep(pause + jitter);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(error) => return Err(StoreError::from(redb::Error::from(error))),
            }
        }
    }

    pub(super) fn begin_read(&self) -> Result<Read, redb::Error> {
        self.with(|opened| {
            Ok(Read {
                txn: opened.db.begin_read()?,
                _db: Arc::clone(opened),
            })
        })
    }

    pub(super) fn begin_write(&self) -> Result<WriteTransaction, redb::Error> {
        self.with(|opened| opened.db.begin_write().map_err(redb::Error::from))
    }

    /// Reclaims free pages. Needs the only handle on the database: false
    /// (nothing done) while another thread is using it.
    pub(super) fn compact(&self) -> Result<bool, StoreError> {
        let mut slot = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(opened) = slot.as_mut().and_then(Arc::get_mut) else {
            return Ok(false);
        };
        opened.db.compact().map_err(|e| StoreError::Db(e.to_string()))
    }

    /// Runs `op` on the database, first reopening it if its file failed;
    /// if `op` itself meets the failed state, reopens and runs it once more.
    fn with<T>(&self, op: impl Fn(&Arc<Opened>) -> Result<T, redb::Error>) -> Result<T, redb::Error> {
        let current = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut stale = None;
        if let Some(opened) = current {
            if !opened.failed.load(Ordering::Acquire) {
                match op(&opened) {
                    Err(redb::Error::PreviousIo) => {}
                    other => return other,
                }
            }
            stale = Some(opened);
        }
        let opened = self.reopen(stale)?;
        op(&opened)
    }

    /// Closes the failed database `stale` and opens the file again, unless
    /// another thread already did.
    fn reopen(&self, stale: Option<Arc<Opened>>) -> Result<Arc<Opened>, redb::Error> {
        let mut slot = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(opened) = slot.as_ref() {
            let replaced = stale.as_ref().is_none_or(|stale| !Arc::ptr_eq(stale, opened));
            if replaced && !opened.failed.load(Ordering::Acquire) {
                return Ok(Arc::clone(opened));
            }
        }
        // Our own handle on the failed database must go too, or its file
        // stays locked against the open below.
        drop(stale);
        if slot.take().is_some() {
            tracing::warn!(
                path = %self.path.display(),
                "the store's file failed an I/O (disk full or failing?); closing and reopening it"
            );
        }
        let started = Instant::now();
        let opened = loop {
            match open_file(&self.path) {
                Ok(opened) => break Arc::new(opened),
                // The failed database's last transaction still holds the file.
                Err(DatabaseError::DatabaseAlreadyOpen) if started.elapsed() < REOPEN_WAIT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(error) => {
                    tracing::warn!(path = %self.path.display(), %error, "the store could not be reopened; the next use tries again");
                    return Err(match error {
                        DatabaseError::DatabaseAlreadyOpen => redb::Error::PreviousIo,
                        error => error.into(),
                    });
                }
            }
        };
        tracing::info!(path = %self.path.display(), "the store was reopened after an I/O error");
        *slot = Some(Arc::clone(&opened));
        Ok(opened)
    }
}

/// A read transaction, holding its database open: a reopen closes the old
/// file only once the reads begun on it are over (redb would otherwise close
/// it under them).
pub(super) struct Read {
    // Dropped before `_db`, in declaration order.
    txn: ReadTransaction,
    _db: Arc<Opened>,
}

impl std::ops::Deref for Read {
    type Target = ReadTransaction;

    fn deref(&self) -> &ReadTransaction {
        &self.txn
    }
}

fn open_file(path: &Path) -> Result<Opened, DatabaseError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let failed = Arc::new(AtomicBool::new(false));
    let backend = WatchedBackend {
        inner: FileBackend::new(file)?,
        failed: Arc::clone(&failed),
    };
    let db = Database::builder().create_with_backend(backend)?;
    Ok(Opened { db, failed })
}

/// The process id of a running node of the home holding the store at
/// `store`, if its `run/api.json` (see `crate::home`) names a live process
/// other than this one.
fn running_node(store: &Path) -> Option<u32> {
    let info = store.parent()?.join("run").join("api.json");
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(info).ok()?).ok()?;
    let pid = u32::try_from(info.get("pid")?.as_u64()?).ok()?;
    let alive = if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        // Without /proc we cannot tell: trust the file.
        true
    };
    (alive && pid != std::process::id()).then_some(pid)
}

/// redb's file backend, noting any failed I/O: redb's own flag for it is
/// not public, and the store must know to reopen.
#[derive(Debug)]
struct WatchedBackend {
    inner: FileBackend,
    failed: Arc<AtomicBool>,
}

impl WatchedBackend {
    fn watch<T>(&self, result: Result<T, std::io::Error>) -> Result<T, std::io::Error> {
        if result.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        result
    }
}

impl StorageBackend for WatchedBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.watch(self.inner.len())
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.watch(self.inner.read(offset, out))
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.watch(self.inner.set_len(len))
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.watch(self.inner.sync_data())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.watch(self.inner.write(offset, data))
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}
