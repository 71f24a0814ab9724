//! What two nodes do after they connect, up to the document sync session,
//! as a state machine without I/O: [`Machine::handle`] takes an [`Input`]
//! and the time, and returns [`Effect`]s for the caller to carry out.
//!
//! ```text
//! connected ─► store: facts ─► Hello (tags; records for known-shared)
//!   peer's Hello ─► store: ingest ─► answer Hello (records for shared or
//!                                    tag-matched communities) ─► known
//!   our Hello answered ─► store: ingest ─► known (hello again first if the
//!                         answer proved a membership ours did not) ─► sync
//! sync wanted ─► store: records ─► Community(digest) ─► Unchanged ─► session
//!                                                    └► Community(records)
//!               ─► store: ingest ─► Push(ours) ─► Stored ─► session
//! Join / Link ─► store: decide ─► Admitted / Linked / Refused
//! ```
//!
//! Whatever needs the registry is a store job ([`StoreOp`], answered with
//! [`Input::StoreAnswered`]), so a node runs them on blocking threads and a
//! simulation answers them from an in-memory registry. The machine holds no
//! clock (`now` comes with every input) and does no I/O; it is generic over
//! the peer id, which the caller gives with its bytes and device on
//! connecting.

use std::collections::BTreeMap;

use maillage_crdt::sign::Sig;
use maillage_crdt::{CommunityId, DeviceId, HouseholdId, Record, SignedChange};
use serde_bytes::ByteBuf;

use super::{RecordsRequest, RecordsResponse, Refusal, decode_records, encode_records, records_digest};
use crate::mesh::hello_tag;

/// Our request, as the caller's transport must send it and then report on
/// it ([`Input::Response`], [`Input::RequestFailed`]).
pub type RequestId = u64;
/// A request received, whose answer goes back on the caller's channel.
pub type ChannelId = u64;
/// A store job, answered with [`Input::StoreAnswered`].
pub type JobId = u64;

#[derive(Clone, Debug)]
pub struct Config {
    /// Hello requests sent per connection at most (failures are retried).
    pub hello_attempts: u8,
    /// A request with neither an answer nor a failure after this long (ms)
    /// is taken as failed on the next [`Input::Tick`]: a transport that
    /// loses an answer must not leave a peer unknown for ever.
    pub request_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hello_attempts: 3,
            request_timeout_ms: 60_000,
        }
    }
}

/// What the machine knows of a peer after hello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// The household the peer's device belongs to, and its name.
    pub household: Option<(HouseholdId, String)>,
    /// The communities both households are members of.
    pub shared: Vec<CommunityId>,
}

/// What the store says about us and about one peer's device.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub household: Option<(HouseholdId, String)>,
    /// Communities the peer's household shares with ours, as the store says now.
    pub shared: Vec<CommunityId>,
    /// Communities our household is a member of.
    pub ours: Vec<CommunityId>,
    /// Our device records and our joins (to every community).
    pub own_records: Vec<Record>,
}

/// A store decision on a join.
#[derive(Clone, Debug)]
pub enum JoinOutcome {
    Admitted {
        community: CommunityId,
        records: Vec<Record>,
    },
    Refused(Refusal),
    /// The store could not decide or write (logged by the caller).
    Failed,
}

/// A store decision on a device link.
#[derive(Clone, Debug)]
pub enum LinkOutcome {
    Linked {
        records: Vec<Record>,
        profile: Vec<SignedChange>,
    },
    Refused(Refusal),
    Failed,
}

/// Work for the store. `device` is the peer's device, `None` when its peer
/// id is not an ed25519 key (then it belongs to no household).
#[derive(Clone, Debug)]
pub enum StoreOp {
    /// Answer [`StoreAnswer::Facts`].
    Facts { device: Option<DeviceId> },
    /// Store a peer's records (keeping only what concerns communities we are
    /// in, as `ingest_foreign` does; nothing to do when empty), then answer
    /// [`StoreAnswer::Facts`].
    Ingest {
        device: Option<DeviceId>,
        records: Vec<Record>,
    },
    /// The records of `community` if the device's household is a member of
    /// it now: [`StoreAnswer::CommunityRecords`].
    CommunityRecords {
        device: Option<DeviceId>,
        community: CommunityId,
    },
    /// Store pushed records if the device's household is a member of
    /// `community` now: [`StoreAnswer::Pushed`].
    Push {
        device: Option<DeviceId>,
        community: CommunityId,
        records: Vec<Record>,
    },
    /// Store the answerer's records of `community`, then
    /// [`StoreAnswer::CommunityIngested`] with ours to push (if the peer is
    /// still a member).
    IngestCommunity {
        device: Option<DeviceId>,
        community: CommunityId,
        records: Vec<Record>,
    },
    /// Decide on a join ([`super::admission::decide_join`]) and store it if
    /// admitted: [`StoreAnswer::Join`].
    AdmitJoin { device: DeviceId, records: Vec<Record> },
    /// Decide on a device link: [`StoreAnswer::Link`].
    AdmitLink {
        device: DeviceId,
        household: HouseholdId,
        proof: Sig,
        consent: Sig,
        label: String,
    },
}

#[derive(Clone, Debug)]
pub enum StoreAnswer {
    Facts(Facts),
    CommunityRecords(Option<Vec<Record>>),
    Pushed { member: bool },
    CommunityIngested { facts: Facts, push: Option<Vec<Record>> },
    Join { outcome: JoinOutcome, facts: Facts },
    Link { outcome: LinkOutcome, facts: Facts },
}

#[derive(Clone, Debug)]
pub enum Input<P> {
    /// A connection to `peer` is up. `bytes`: its peer id as hello tags
    /// bind it; `device`: its device key.
    Connected {
        peer: P,
        bytes: Vec<u8>,
        device: Option<DeviceId>,
    },
    /// The last connection to `peer` closed.
    Disconnected {
        peer: P,
    },
    Request {
        peer: P,
        channel: ChannelId,
        request: RecordsRequest,
    },
    Response {
        peer: P,
        request: RequestId,
        response: RecordsResponse,
    },
    RequestFailed {
        request: RequestId,
    },
    StoreAnswered {
        job: JobId,
        answer: StoreAnswer,
    },
    /// The node wants to sync `community` with `peer`: bring the records in
    /// step first ([`Effect::StartSession`] or [`Effect::NoSession`]).
    SyncWanted {
        peer: P,
        community: CommunityId,
    },
    /// Memberships may have changed (a join, a removal, a new community):
    /// work out again what each peer shares.
    MembershipsChanged,
    /// Time passes: requests past their deadline fail.
    Tick,
}

#[derive(Clone, Debug)]
pub enum Effect<P> {
    Send {
        peer: P,
        request: RequestId,
        message: RecordsRequest,
    },
    Respond {
        channel: ChannelId,
        message: RecordsResponse,
    },
    Store {
        job: JobId,
        op: StoreOp,
    },
    /// What is known of `peer` is now `known` (gossip may reach it, or not).
    /// `remember`: it was just met or admitted, so its addresses are worth
    /// keeping if it is a member.
    Known {
        peer: P,
        known: Known,
        remember: bool,
    },
    /// Sync `community` with `peer` (the caller's session bookkeeping
    /// answers with [`Input::SyncWanted`]).
    WantSync {
        peer: P,
        community: CommunityId,
    },
    /// Both sides hold the same records of `community`: run the session.
    StartSession {
        peer: P,
        community: CommunityId,
    },
    /// No session this time, and why.
    NoSession {
        peer: P,
        community: CommunityId,
        reason: NoSession,
    },
    /// `peer` was admitted to `community`: the other members should hear.
    Admitted {
        peer: P,
        community: CommunityId,
    },
    /// Count this against the peer.
    Strike {
        peer: P,
        offence: Offence,
    },
}

/// What a peer did wrong on the records protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Offence {
    #[error("sent records that do not decode")]
    UndecodableRecords,
    #[error("answered a records request with a hello")]
    HelloAsAnswer,
    #[error("answered a records request with an admission")]
    AdmissionAsAnswer,
    #[error("presented a forged join or an unknown device link")]
    ForgedAdmission,
}

/// Why no session follows a records exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoSession {
    /// Our store does not count the peer as a member (any more): not even
    /// the community's id goes to it.
    #[error("the peer is not a member of the community as our store says")]
    NotAMember,
    #[error("the peer refused: {0}")]
    Refused(Refusal),
    #[error("the peer's answer made no sense")]
    Misbehaved,
    /// No answer (the transport failed, or the deadline passed).
    #[error("the records request got no answer")]
    Failed,
}

#[derive(Debug)]
struct PeerEntry {
    bytes: Vec<u8>,
    device: Option<DeviceId>,
    known: Option<Known>,
}

/// What a request in flight was for.
#[derive(Debug)]
enum Purpose<P> {
    Hello {
        peer: P,
        attempt: u8,
        sent_for: Vec<CommunityId>,
    },
    /// The digest request, then the push, before a session.
    Records { peer: P, community: CommunityId },
}

/// What to do with a store answer.
#[derive(Debug)]
enum Job<P> {
    PrepareHello {
        peer: P,
        attempt: u8,
    },
    AnswerHello {
        peer: P,
        channel: ChannelId,
        tags: Vec<ByteBuf>,
    },
    HelloAnswered {
        peer: P,
        attempt: u8,
        sent_for: Vec<CommunityId>,
    },
    AnswerCommunity {
        channel: ChannelId,
        digest: [u8; 32],
    },
    AnswerPush {
        channel: ChannelId,
    },
    Digest {
        peer: P,
        community: CommunityId,
    },
    Push {
        peer: P,
        community: CommunityId,
    },
    Admission {
        peer: P,
        channel: ChannelId,
    },
    Refresh {
        peer: P,
    },
}

/// The records protocol of one node, for all its peers.
#[derive(Debug)]
pub struct Machine<P> {
    config: Config,
    /// Our own peer id's bytes, as hello tags bind them.
    me: Vec<u8>,
    // Ordered maps: the same inputs give the same effects in the same order.
    peers: BTreeMap<P, PeerEntry>,
    requests: BTreeMap<RequestId, (Purpose<P>, u64)>,
    jobs: BTreeMap<JobId, Job<P>>,
    next_id: u64,
}

/// The records that prove our household a member of `communities`: its
/// device records and its joins to those communities (never its joins to
/// others). Nothing at all when `communities` is empty.
fn hello_records(own: &[Record], communities: &[CommunityId]) -> Vec<Record> {
    if communities.is_empty() {
        return Vec::new();
    }
    own.iter()
        .filter(|record| match record {
            Record::Join(join) => communities.contains(&join.body.community),
            _ => true,
        })
        .cloned()
        .collect()
}

fn known_of(facts: &Facts) -> Known {
    Known {
        household: facts.household.clone(),
        shared: facts.shared.clone(),
    }
}

impl<P: Clone + Ord + std::fmt::Debug> Machine<P> {
    pub fn new(me: Vec<u8>, config: Config) -> Self {
        Machine {
            config,
            me,
            peers: BTreeMap::new(),
            requests: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// What hello told us of `peer`; `None` until it is over (or if not connected).
    pub fn known(&self, peer: &P) -> Option<&Known> {
        self.peers.get(peer).and_then(|entry| entry.known.as_ref())
    }

    /// Whether `peer` is known to share `community` with us.
    pub fn is_known_member(&self, peer: &P, community: &CommunityId) -> bool {
        self.known(peer).is_some_and(|known| known.shared.contains(community))
    }

    /// Connected peers with what is known of them.
    pub fn peers(&self) -> impl Iterator<Item = (&P, Option<&Known>)> {
        self.peers.iter().map(|(peer, entry)| (peer, entry.known.as_ref()))
    }

    /// Requests and store jobs waiting: zero once everything has settled.
    pub fn pending(&self) -> usize {
        self.requests.len() + self.jobs.len()
    }

    pub fn handle(&mut self, input: Input<P>, now: u64) -> Vec<Effect<P>> {
        let mut out = Vec::new();
        match input {
            Input::Connected { peer, bytes, device } => {
                let entry = self.peers.entry(peer.clone()).or_insert(PeerEntry {
                    bytes,
                    device,
                    known: None,
                });
                if entry.known.is_none() {
                    self.prepare_hello(peer, 1, &mut out);
                }
            }
            Input::Disconnected { peer } => {
                // Answers still due for it are dropped as they come back.
                self.peers.remove(&peer);
                self.requests.retain(|_, (purpose, _)| match purpose {
                    Purpose::Hello { peer: p, .. } | Purpose::Records { peer: p, .. } => p != &peer,
                });
            }
            Input::Request { peer, channel, request } => self.on_request(peer, channel, request, &mut out),
            Input::Response {
                peer,
                request,
                response,
            } => {
                if let Some((purpose, _)) = self.requests.remove(&request) {
                    self.on_response(peer, purpose, response, &mut out);
                }
            }
            Input::RequestFailed { request } => self.on_failure(request, &mut out),
            Input::StoreAnswered { job, answer } => {
                if let Some(job) = self.jobs.remove(&job) {
                    self.on_answer(job, answer, &mut out);
                }
            }
            Input::SyncWanted { peer, community } => match self.peers.get(&peer) {
                Some(entry) => {
                    let device = entry.device;
                    self.store(
                        Job::Digest { peer, community },
                        StoreOp::CommunityRecords { device, community },
                        &mut out,
                    );
                }
                None => out.push(Effect::NoSession {
                    peer,
                    community,
                    reason: NoSession::Failed,
                }),
            },
            Input::MembershipsChanged => {
                let peers: Vec<(P, Option<DeviceId>)> = self.peers.iter().map(|(p, e)| (p.clone(), e.device)).collect();
                for (peer, device) in peers {
                    self.store(Job::Refresh { peer }, StoreOp::Facts { device }, &mut out);
                }
            }
            Input::Tick => {
                let deadline = self.config.request_timeout_ms;
                let expired: Vec<RequestId> = self
                    .requests
                    .iter()
                    .filter(|(_, (_, sent))| now.saturating_sub(*sent) >= deadline)
                    .map(|(id, _)| *id)
                    .collect();
                for request in expired {
                    self.on_failure(request, &mut out);
                }
            }
        }
        // Requests are stamped with the time they leave.
        for effect in &out {
            if let Effect::Send { request, .. } = effect
                && let Some((_, sent)) = self.requests.get_mut(request)
            {
                *sent = now;
            }
        }
        out
    }

    fn next(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn store(&mut self, job: Job<P>, op: StoreOp, out: &mut Vec<Effect<P>>) {
        let id = self.next();
        self.jobs.insert(id, job);
        out.push(Effect::Store { job: id, op });
    }

    /// Sends a community-records request (`None`: the store said the peer
    /// is not, or no longer, a member), or ends the attempt: not even the
    /// community's id goes to a peer that is not a member, nor to one gone.
    fn ask_records(
        &mut self,
        peer: P,
        community: CommunityId,
        message: Option<RecordsRequest>,
        out: &mut Vec<Effect<P>>,
    ) {
        match message.filter(|_| self.peers.contains_key(&peer)) {
            Some(message) => {
                let purpose = Purpose::Records {
                    peer: peer.clone(),
                    community,
                };
                self.send(peer, purpose, message, out);
            }
            None => out.push(Effect::NoSession {
                peer,
                community,
                reason: NoSession::NotAMember,
            }),
        }
    }

    fn send(&mut self, peer: P, purpose: Purpose<P>, message: RecordsRequest, out: &mut Vec<Effect<P>>) {
        let id = self.next();
        self.requests.insert(id, (purpose, 0));
        out.push(Effect::Send {
            peer,
            request: id,
            message,
        });
    }

    fn device(&self, peer: &P) -> Option<DeviceId> {
        self.peers.get(peer).and_then(|entry| entry.device)
    }

    fn prepare_hello(&mut self, peer: P, attempt: u8, out: &mut Vec<Effect<P>>) {
        let device = self.device(&peer);
        self.store(Job::PrepareHello { peer, attempt }, StoreOp::Facts { device }, out);
    }

    /// Sets what is known of a connected peer and says so.
    fn set_known(&mut self, peer: P, known: Known, remember: bool, out: &mut Vec<Effect<P>>) {
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        entry.known = Some(known.clone());
        out.push(Effect::Known { peer, known, remember });
    }

    /// After hello (or a newly shared community): learn each shared
    /// community's records, then sync it.
    fn peer_known(&mut self, peer: P, known: Known, out: &mut Vec<Effect<P>>) {
        let shared = known.shared.clone();
        if !self.peers.contains_key(&peer) {
            return;
        }
        self.set_known(peer.clone(), known, true, out);
        for community in shared {
            out.push(Effect::WantSync {
                peer: peer.clone(),
                community,
            });
        }
    }

    fn decode(&self, peer: &P, bytes: &[ByteBuf], out: &mut Vec<Effect<P>>) -> Vec<Record> {
        let (records, bad) = decode_records(bytes);
        if bad > 0 {
            out.push(Effect::Strike {
                peer: peer.clone(),
                offence: Offence::UndecodableRecords,
            });
        }
        records
    }

    fn on_request(&mut self, peer: P, channel: ChannelId, request: RecordsRequest, out: &mut Vec<Effect<P>>) {
        let device = self.device(&peer);
        match request {
            RecordsRequest::Hello { records, tags } => {
                let records = self.decode(&peer, &records, out);
                self.store(
                    Job::AnswerHello { peer, channel, tags },
                    StoreOp::Ingest { device, records },
                    out,
                );
            }
            RecordsRequest::Push { community, records } => {
                let records = self.decode(&peer, &records, out);
                let op = StoreOp::Push {
                    device,
                    community: CommunityId(community),
                    records,
                };
                self.store(Job::AnswerPush { channel }, op, out);
            }
            RecordsRequest::Community { community, digest } => {
                let op = StoreOp::CommunityRecords {
                    device,
                    community: CommunityId(community),
                };
                self.store(Job::AnswerCommunity { channel, digest }, op, out);
            }
            RecordsRequest::Join { records } => {
                let records = self.decode(&peer, &records, out);
                match device {
                    Some(device) => self.store(
                        Job::Admission { peer, channel },
                        StoreOp::AdmitJoin { device, records },
                        out,
                    ),
                    // A peer id that is no device key belongs to no household.
                    None => out.push(Effect::Respond {
                        channel,
                        message: RecordsResponse::Refused {
                            reason: Refusal::InviteForged,
                        },
                    }),
                }
            }
            RecordsRequest::Link {
                household,
                proof,
                consent,
                label,
            } => match device {
                Some(device) => {
                    let op = StoreOp::AdmitLink {
                        device,
                        household: HouseholdId(household),
                        proof,
                        consent,
                        label,
                    };
                    self.store(Job::Admission { peer, channel }, op, out);
                }
                None => out.push(Effect::Respond {
                    channel,
                    message: RecordsResponse::Refused {
                        reason: Refusal::LinkUnknown,
                    },
                }),
            },
        }
    }

    fn on_response(&mut self, peer: P, purpose: Purpose<P>, response: RecordsResponse, out: &mut Vec<Effect<P>>) {
        match purpose {
            Purpose::Hello {
                peer: asked,
                attempt,
                sent_for,
            } => {
                // Anything but a hello leaves the peer unknown, as silence would.
                if let RecordsResponse::Hello { records } = response {
                    let records = self.decode(&peer, &records, out);
                    let device = self.device(&asked);
                    let job = Job::HelloAnswered {
                        peer: asked,
                        attempt,
                        sent_for,
                    };
                    self.store(job, StoreOp::Ingest { device, records }, out);
                }
            }
            Purpose::Records { peer: asked, community } => {
                let no_session = |reason| Effect::NoSession {
                    peer: asked.clone(),
                    community,
                    reason,
                };
                match response {
                    RecordsResponse::Unchanged | RecordsResponse::Stored => {
                        out.push(Effect::StartSession { peer: asked, community })
                    }
                    RecordsResponse::Community { records } => {
                        // The sets differed: take theirs, send ours, and sync
                        // documents only once both sides hold the same
                        // records (a removal known here must be known there
                        // before it gets anything).
                        let records = self.decode(&peer, &records, out);
                        let device = self.device(&asked);
                        let op = StoreOp::IngestCommunity {
                            device,
                            community,
                            records,
                        };
                        self.store(Job::Push { peer: asked, community }, op, out);
                    }
                    RecordsResponse::Refused { reason } => out.push(no_session(NoSession::Refused(reason))),
                    RecordsResponse::Hello { .. } => {
                        out.push(Effect::Strike {
                            peer,
                            offence: Offence::HelloAsAnswer,
                        });
                        out.push(no_session(NoSession::Misbehaved));
                    }
                    RecordsResponse::Admitted { .. } | RecordsResponse::Linked { .. } => {
                        out.push(Effect::Strike {
                            peer,
                            offence: Offence::AdmissionAsAnswer,
                        });
                        out.push(no_session(NoSession::Misbehaved));
                    }
                }
            }
        }
    }

    fn on_failure(&mut self, request: RequestId, out: &mut Vec<Effect<P>>) {
        match self.requests.remove(&request) {
            // Without a hello the peer is never known: try again a few times.
            Some((Purpose::Hello { peer, attempt, .. }, _))
                if attempt < self.config.hello_attempts && self.peers.contains_key(&peer) =>
            {
                self.prepare_hello(peer, attempt + 1, out);
            }
            Some((Purpose::Records { peer, community }, _)) => out.push(Effect::NoSession {
                peer,
                community,
                reason: NoSession::Failed,
            }),
            Some((Purpose::Hello { .. }, _)) | None => {}
        }
    }

    fn on_answer(&mut self, job: Job<P>, answer: StoreAnswer, out: &mut Vec<Effect<P>>) {
        match (job, answer) {
            (Job::PrepareHello { peer, attempt }, StoreAnswer::Facts(facts)) => {
                let Some(entry) = self.peers.get(&peer) else { return };
                // Records only for the communities we know the peer shares
                // (nothing to a peer we do not know), and a tag per community
                // we are in, which only a node that knows the community can match.
                let tags = facts
                    .ours
                    .iter()
                    .map(|c| ByteBuf::from(hello_tag(c, &self.me, &entry.bytes).to_vec()))
                    .collect();
                let sent_for = facts.shared;
                let message = RecordsRequest::Hello {
                    records: encode_records(&hello_records(&facts.own_records, &sent_for)),
                    tags,
                };
                let purpose = Purpose::Hello {
                    peer: peer.clone(),
                    attempt,
                    sent_for,
                };
                self.send(peer, purpose, message, out);
            }
            (Job::AnswerHello { peer, channel, tags }, StoreAnswer::Facts(facts)) => {
                let bytes = self.peers.get(&peer).map(|e| e.bytes.clone()).unwrap_or_default();
                // Our records go only where they prove something to someone
                // entitled to it: communities the peer is known to share, or
                // whose id it showed it knows.
                let mut entitled = facts.shared.clone();
                for community in &facts.ours {
                    let tag = hello_tag(community, &bytes, &self.me);
                    if !entitled.contains(community) && tags.iter().any(|t| t.as_slice() == tag) {
                        entitled.push(*community);
                    }
                }
                out.push(Effect::Respond {
                    channel,
                    message: RecordsResponse::Hello {
                        records: encode_records(&hello_records(&facts.own_records, &entitled)),
                    },
                });
                // The dialer drives the first sync; we only record what we know.
                self.set_known(peer, known_of(&facts), true, out);
            }
            (
                Job::HelloAnswered {
                    peer,
                    attempt,
                    sent_for,
                },
                StoreAnswer::Facts(facts),
            ) => {
                // Its answer proved it a member of communities our hello did
                // not prove ours of (we did not know it): say hello again,
                // with those records, before any sync asks it to know us.
                let known = known_of(&facts);
                let unproven = known.shared.iter().any(|c| !sent_for.contains(c));
                if unproven && attempt < self.config.hello_attempts && self.peers.contains_key(&peer) {
                    self.prepare_hello(peer, self.config.hello_attempts, out);
                } else {
                    self.peer_known(peer, known, out);
                }
            }
            (Job::AnswerCommunity { channel, digest }, StoreAnswer::CommunityRecords(records)) => {
                let message = match records {
                    None => RecordsResponse::Refused {
                        reason: Refusal::NotAMember,
                    },
                    Some(records) if records_digest(&records) == digest => RecordsResponse::Unchanged,
                    Some(records) => RecordsResponse::Community {
                        records: encode_records(&records),
                    },
                };
                out.push(Effect::Respond { channel, message });
            }
            (Job::AnswerPush { channel }, StoreAnswer::Pushed { member }) => {
                let message = if member {
                    RecordsResponse::Stored
                } else {
                    RecordsResponse::Refused {
                        reason: Refusal::NotAMember,
                    }
                };
                out.push(Effect::Respond { channel, message });
            }
            (Job::Digest { peer, community }, StoreAnswer::CommunityRecords(records)) => {
                let message = records.map(|records| RecordsRequest::Community {
                    community: community.0,
                    digest: records_digest(&records),
                });
                self.ask_records(peer, community, message, out);
            }
            (Job::Push { peer, community }, StoreAnswer::CommunityIngested { facts, push }) => {
                self.set_known(peer.clone(), known_of(&facts), false, out);
                let message = push.map(|records| RecordsRequest::Push {
                    community: community.0,
                    records: encode_records(&records),
                });
                self.ask_records(peer, community, message, out);
            }
            (Job::Admission { peer, channel }, StoreAnswer::Join { outcome, facts }) => {
                let (message, admitted_to) = match outcome {
                    JoinOutcome::Admitted { community, records } => (
                        RecordsResponse::Admitted {
                            records: encode_records(&records),
                        },
                        Some(community),
                    ),
                    JoinOutcome::Refused(reason) => (RecordsResponse::Refused { reason }, None),
                    JoinOutcome::Failed => (
                        RecordsResponse::Refused {
                            reason: Refusal::AnswererNotAMember,
                        },
                        None,
                    ),
                };
                self.admitted(peer, channel, message, facts, admitted_to, out);
            }
            (Job::Admission { peer, channel }, StoreAnswer::Link { outcome, facts }) => {
                let message = match outcome {
                    LinkOutcome::Linked { records, profile } => RecordsResponse::Linked {
                        records: encode_records(&records),
                        profile: profile
                            .iter()
                            .map(|change| ByteBuf::from(postcard::to_stdvec(change).unwrap_or_default()))
                            .collect(),
                    },
                    LinkOutcome::Refused(reason) => RecordsResponse::Refused { reason },
                    LinkOutcome::Failed => RecordsResponse::Refused {
                        reason: Refusal::LinkUnknown,
                    },
                };
                self.admitted(peer, channel, message, facts, None, out);
            }
            (Job::Refresh { peer }, StoreAnswer::Facts(facts)) => {
                let Some(entry) = self.peers.get(&peer) else { return };
                let before = entry.known.as_ref().map(|k| k.shared.clone()).unwrap_or_default();
                let known = known_of(&facts);
                if known.shared.iter().any(|c| !before.contains(c)) {
                    // Newly shared: learn its records and sync it.
                    self.peer_known(peer, known, out);
                } else {
                    self.set_known(peer, known, false, out);
                }
            }
            // An answer of the wrong kind is the caller's bug; dropping it
            // leaves the exchange where a lost answer would.
            (job, answer) => debug_assert!(false, "store answer {answer:?} does not fit {job:?}"),
        }
    }

    fn admitted(
        &mut self,
        peer: P,
        channel: ChannelId,
        message: RecordsResponse,
        facts: Facts,
        admitted_to: Option<CommunityId>,
        out: &mut Vec<Effect<P>>,
    ) {
        // Guessing link secrets or forging joins counts against a peer; an
        // expired or used-up invitation is nobody's fault.
        let guessed = matches!(
            message,
            RecordsResponse::Refused {
                reason: Refusal::LinkUnknown | Refusal::InviteForged
            }
        );
        out.push(Effect::Respond { channel, message });
        if guessed {
            out.push(Effect::Strike {
                peer: peer.clone(),
                offence: Offence::ForgedAdmission,
            });
        }
        // The newcomer (or new device) is known now; it drives the first
        // sync, as a dialer does.
        self.set_known(peer.clone(), known_of(&facts), true, out);
        if let Some(community) = admitted_to {
            out.push(Effect::Admitted { peer, community });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMUNITY: CommunityId = CommunityId([7; 32]);

    fn machine() -> Machine<u8> {
        let config = Config {
            hello_attempts: 2,
            request_timeout_ms: 1_000,
        };
        Machine::new(vec![1], config)
    }

    fn connected(machine: &mut Machine<u8>) -> JobId {
        let effects = machine.handle(
            Input::Connected {
                peer: 2,
                bytes: vec![2],
                device: None,
            },
            0,
        );
        match effects.as_slice() {
            [
                Effect::Store {
                    job,
                    op: StoreOp::Facts { .. },
                },
            ] => *job,
            other => panic!("connecting asked {other:?}"),
        }
    }

    #[test]
    fn a_peer_not_known_gets_tags_and_no_records() {
        let mut machine = machine();
        let job = connected(&mut machine);
        let facts = Facts {
            ours: vec![COMMUNITY],
            ..Facts::default()
        };
        let effects = machine.handle(
            Input::StoreAnswered {
                job,
                answer: StoreAnswer::Facts(facts),
            },
            5,
        );
        match effects.as_slice() {
            [
                Effect::Send {
                    peer: 2,
                    message: RecordsRequest::Hello { records, tags },
                    ..
                },
            ] => {
                assert!(records.is_empty());
                assert_eq!(tags.len(), 1);
                assert_eq!(tags[0].as_slice(), hello_tag(&COMMUNITY, &[1], &[2]));
            }
            other => panic!("hello was {other:?}"),
        }
    }

    #[test]
    fn an_unanswered_hello_is_tried_again_at_its_deadline_then_given_up() {
        let mut machine = machine();
        let job = connected(&mut machine);
        let answer = StoreAnswer::Facts(Facts::default());
        assert_eq!(machine.handle(Input::StoreAnswered { job, answer }, 0).len(), 1);
        assert!(machine.handle(Input::Tick, 999).is_empty(), "not due yet");
        let retried = machine.handle(Input::Tick, 1_000);
        let [Effect::Store { job, .. }] = retried.as_slice() else {
            panic!("no second attempt: {retried:?}");
        };
        let answer = StoreAnswer::Facts(Facts::default());
        assert_eq!(
            machine.handle(Input::StoreAnswered { job: *job, answer }, 1_000).len(),
            1
        );
        assert!(machine.handle(Input::Tick, 2_000).is_empty(), "two attempts only");
        assert_eq!(machine.pending(), 0);
    }

    #[test]
    fn the_same_records_on_both_sides_start_the_session_at_once() {
        let mut machine = machine();
        connected(&mut machine);
        let effects = machine.handle(
            Input::SyncWanted {
                peer: 2,
                community: COMMUNITY,
            },
            0,
        );
        let [Effect::Store { job, .. }] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        let answer = StoreAnswer::CommunityRecords(Some(vec![]));
        let effects = machine.handle(Input::StoreAnswered { job: *job, answer }, 0);
        let [Effect::Send { request, message, .. }] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        assert!(matches!(message, RecordsRequest::Community { digest, .. } if *digest == records_digest(&[])));
        let response = RecordsResponse::Unchanged;
        let effects = machine.handle(
            Input::Response {
                peer: 2,
                request: *request,
                response,
            },
            3,
        );
        assert!(matches!(effects.as_slice(), [Effect::StartSession { peer: 2, community }] if *community == COMMUNITY));
    }

    #[test]
    fn not_even_the_community_id_goes_to_a_peer_that_is_not_a_member() {
        let mut machine = machine();
        connected(&mut machine);
        let effects = machine.handle(
            Input::SyncWanted {
                peer: 2,
                community: COMMUNITY,
            },
            0,
        );
        let [Effect::Store { job, .. }] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        let answer = StoreAnswer::CommunityRecords(None);
        let effects = machine.handle(Input::StoreAnswered { job: *job, answer }, 0);
        assert!(matches!(
            effects.as_slice(),
            [Effect::NoSession {
                reason: NoSession::NotAMember,
                ..
            }]
        ));
    }
}
