//! The household service: the one owner of a household's writes, and the
//! handle every part of the node uses to reach the household.
//!
//! ```text
//! web page ─┐                                   ┌─ reads: any thread, at once,
//! local API ┼─ HouseholdService (Clone) ────────┤  on redb read transactions
//! mesh ─────┤                                   └─ writes: a bounded queue ──►
//! CLI ──────┘                                      the writer thread, in order
//! ```
//!
//! Reads (`Deref` to [`Household`], or [`HouseholdService::read`] from async
//! code) never wait behind a write or an import: redb runs any number of read
//! transactions beside its one writer. Writes are jobs on the
//! [`HouseholdWriter`], sent over a bounded channel to one thread that runs
//! them one after the other and answers each on a oneshot channel; the queue
//! being bounded, a flood of writes makes its senders wait rather than the
//! node's memory grow.
//!
//! Nothing else opens the store of a home while a service holds it: the
//! service owns the only `HouseholdWriter`, and redb locks the file against
//! other processes.

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::home::Home;
use crate::household::{Household, HouseholdError, HouseholdWriter};

/// How many writes may wait for the writer thread. Senders wait beyond that.
const WRITE_QUEUE: usize = 64;

type WriteJob = Box<dyn FnOnce(&mut HouseholdWriter) + Send>;

thread_local! {
    /// Set on the writer thread: a job that sent another write to its own
    /// queue and waited would wait forever.
    static ON_WRITER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// A household, open, with its writer thread. Cheap to clone: every clone
/// reads the same store and queues writes to the same thread. When the last
/// clone is dropped, the writer finishes what was queued and stops, and the
/// store is closed before the drop returns (redb then needs no repair at the
/// next open).
#[derive(Clone)]
pub struct HouseholdService {
    household: Arc<Household>,
    writer: Arc<WriterThread>,
}

struct WriterThread {
    /// `None` only while dropping.
    writes: Option<mpsc::Sender<WriteJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WriterThread {
    fn queue(&self) -> Result<&mpsc::Sender<WriteJob>, HouseholdError> {
        self.writes.as_ref().ok_or(HouseholdError::WriterStopped)
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it is empty.
        self.writes.take();
        if let Some(thread) = self.thread.take()
            && !ON_WRITER_THREAD.with(Cell::get)
            && thread.join().is_err()
        {
            tracing::error!("the household's writer thread panicked");
        }
    }
}

impl fmt::Debug for HouseholdService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HouseholdService")
            .field("household", &self.household.id().short())
            .finish_non_exhaustive()
    }
}

impl HouseholdService {
    /// Opens the household of `home` and starts its writer thread.
    pub fn open(home: Home) -> Result<HouseholdService, HouseholdError> {
        Ok(HouseholdService::start(Household::open(home)?))
    }

    /// Sets up a new household in `home` (see [`Household::init`]).
    pub fn init(home: Home, name: &str, place: Option<&str>) -> Result<HouseholdService, HouseholdError> {
        Ok(HouseholdService::start(Household::init(home, name, place)?))
    }

    /// Takes the home's one writer and gives it a thread of its own.
    pub fn start(writer: HouseholdWriter) -> HouseholdService {
        let household = writer.shared();
        let (writes, mut queue) = mpsc::channel::<WriteJob>(WRITE_QUEUE);
        let name = format!("maillage-writer-{}", household.id().short());
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            ON_WRITER_THREAD.with(|flag| flag.set(true));
            let mut writer = writer;
            while let Some(job) = queue.blocking_recv() {
                job(&mut writer);
            }
        });
        let thread = match spawned {
            Ok(thread) => Some(thread),
            Err(error) => {
                // Without a thread there is no writer: every write says so
                // (the queue's receiver went with the closure).
                tracing::error!(%error, "cannot start the household's writer thread");
                None
            }
        };
        HouseholdService {
            household,
            writer: Arc::new(WriterThread {
                writes: Some(writes),
                thread,
            }),
        }
    }

    /// The household, for reads on this thread. Never waits for a write.
    pub fn household(&self) -> &Household {
        &self.household
    }

    /// The household, shared, for reads that outlive this handle's borrow.
    pub fn shared(&self) -> Arc<Household> {
        Arc::clone(&self.household)
    }

    /// Runs `job` on the writer thread after the writes queued before it,
    /// and waits for its answer, blocking this thread. For threads that may
    /// block (the command line, blocking tasks); async code must use
    /// [`HouseholdService::write`]: blocking a runtime worker here stalls
    /// every task on it until the write is done.
    pub fn write_blocking<T, F>(&self, job: F) -> Result<T, HouseholdError>
    where
        T: Send + 'static,
        F: FnOnce(&mut HouseholdWriter) -> Result<T, HouseholdError> + Send + 'static,
    {
        if ON_WRITER_THREAD.with(Cell::get) {
            return Err(HouseholdError::WriterBusy);
        }
        let (job, answer) = Self::job(job);
        // `futures`' executor rather than tokio's `blocking_send`: it blocks
        // this thread whatever it is (tokio's panics inside a runtime), and
        // the writer thread needs nothing from this one to answer.
        let queue = self.writer.queue()?;
        futures::executor::block_on(queue.send(job)).map_err(|_| HouseholdError::WriterStopped)?;
        futures::executor::block_on(answer).map_err(|_| HouseholdError::WriterStopped)?
    }

    /// Like [`HouseholdService::write_blocking`], for async code: waits for
    /// room in the queue and for the answer without blocking a thread.
    pub async fn write<T, F>(&self, job: F) -> Result<T, HouseholdError>
    where
        T: Send + 'static,
        F: FnOnce(&mut HouseholdWriter) -> Result<T, HouseholdError> + Send + 'static,
    {
        if ON_WRITER_THREAD.with(Cell::get) {
            return Err(HouseholdError::WriterBusy);
        }
        let (job, answer) = Self::job(job);
        let queue = self.writer.queue()?.clone();
        queue.send(job).await.map_err(|_| HouseholdError::WriterStopped)?;
        answer.await.map_err(|_| HouseholdError::WriterStopped)?
    }

    /// Runs `read` on a blocking thread (redb reads block), beside any
    /// write under way.
    pub async fn read<T, F>(&self, read: F) -> Result<T, HouseholdError>
    where
        T: Send + 'static,
        F: FnOnce(&Household) -> Result<T, HouseholdError> + Send + 'static,
    {
        let household = self.shared();
        tokio::task::spawn_blocking(move || read(&household))
            .await
            .map_err(|_| HouseholdError::ReadFailed)?
    }

    /// Wraps `job` so that its answer (or its panic, as an error) comes back
    /// on a oneshot channel, and the writer thread survives a panicking job:
    /// every store transaction commits whole or not at all, so a panic
    /// leaves no transaction half-written (a job of several transactions
    /// keeps those it committed).
    fn job<T, F>(job: F) -> (WriteJob, oneshot::Receiver<Result<T, HouseholdError>>)
    where
        T: Send + 'static,
        F: FnOnce(&mut HouseholdWriter) -> Result<T, HouseholdError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: WriteJob = Box::new(move |writer: &mut HouseholdWriter| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| job(writer))).unwrap_or_else(|_| {
                tracing::error!("a write panicked; the household service carries on");
                Err(HouseholdError::WriteFailed)
            });
            // The asker may have gone (a closed connection): nothing to tell.
            let _ = reply.send(result);
        });
        (job, answer)
    }
}

impl Deref for HouseholdService {
    type Target = Household;

    fn deref(&self) -> &Household {
        &self.household
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Barrier;
    use std::time::Duration;

    use super::*;
    use crate::household::ItemInput;

    fn service(dir: &std::path::Path) -> HouseholdService {
        let service = HouseholdService::init(Home::at(dir.join("home")), "Les Tilleuls", None).unwrap();
        service
            .write_blocking(|writer| writer.create_community("Saint-Martin", "heure", None))
            .unwrap();
        service
    }

    #[test]
    fn writes_from_many_threads_are_all_stored() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let service = service.clone();
                std::thread::spawn(move || {
                    for i in 0..5 {
                        let title = format!("Offre {n}-{i}");
                        service
                            .write_blocking(move |writer| {
                                writer.add_offer(ItemInput {
                                    title,
                                    ..ItemInput::default()
                                })
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let listed = service
            .list(
                crate::Query {
                    kind: Some(maillage_crdt::DocKind::Offer),
                    ..crate::Query::default()
                },
                None,
                false,
            )
            .unwrap();
        assert_eq!(listed.len(), 40, "every write from every thread was stored");
    }

    #[test]
    fn a_read_does_not_wait_for_a_write_under_way() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let started = Arc::new(Barrier::new(2));
        let release = Arc::new(Barrier::new(2));
        let (started_in_job, release_in_job) = (Arc::clone(&started), Arc::clone(&release));
        let writing = {
            let service = service.clone();
            std::thread::spawn(move || {
                service.write_blocking(move |writer| {
                    started_in_job.wait();
                    // The writer is busy until the reader below says it is done.
                    release_in_job.wait();
                    writer.add_offer(ItemInput {
                        title: "Perceuse".into(),
                        ..ItemInput::default()
                    })
                })
            })
        };
        started.wait();
        // The read runs on a thread of its own: if it waited for the writer
        // (which waits for it), the test fails on the timeout, not hangs.
        let (answer, answered) = std::sync::mpsc::channel();
        let reader = service.clone();
        std::thread::spawn(move || {
            let name = reader.whoami().map(|me| me.name);
            let communities = reader.communities().map(|list| list.len());
            let _ = answer.send((name, communities));
        });
        let read = answered.recv_timeout(Duration::from_secs(10));
        release.wait();
        let (name, communities) = read.expect("the read waited for the writer");
        assert_eq!((name.unwrap().as_str(), communities.unwrap()), ("Les Tilleuls", 1));
        writing.join().unwrap().unwrap();
    }

    #[test]
    fn a_panicking_write_is_an_error_and_the_writer_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let failed = service.write_blocking(|_writer| -> Result<(), HouseholdError> { panic!("a bug in one write") });
        assert!(matches!(failed, Err(HouseholdError::WriteFailed)), "{failed:?}");
        service
            .write_blocking(|writer| {
                writer.add_offer(ItemInput {
                    title: "Confiture".into(),
                    ..ItemInput::default()
                })
            })
            .unwrap();
    }

    #[test]
    fn a_write_queued_from_inside_a_write_is_refused_not_deadlocked() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let inner = service.clone();
        let (answer, answered) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let nested = service.write_blocking(move |_writer| inner.write_blocking(|_| Ok(())));
            let _ = answer.send(nested);
        });
        let nested = answered
            .recv_timeout(Duration::from_secs(10))
            .expect("the nested write deadlocked");
        assert!(matches!(nested, Err(HouseholdError::WriterBusy)), "{nested:?}");
    }
}
