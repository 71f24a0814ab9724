//! The command line, as clap sees it (DESIGN §4).

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use maillage_node::keys::Passphrase;

/// maillage — share, ask, gather and exchange in your village, without a central server.
#[derive(Debug, Parser)]
#[command(name = "maillage", version, propagate_version = true)]
pub struct Cli {
    /// The household's home directory (keys and store).
    #[arg(long, global = true, env = "MAILLAGE_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Language of messages (default: from LANG; French unless English is asked for).
    #[arg(long, global = true, value_name = "fr|en")]
    pub lang: Option<String>,
    #[command(subcommand)]
    pub command: Command,
    /// The passphrase of a protected household root key, when the command
    /// needs it: read by `passphrase::for_command` (never an argument, which
    /// other users could see in the process list).
    #[arg(skip)]
    pub passphrase: Option<Passphrase>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up this household: its keys, its store, its profile.
    Init {
        #[arg(long)]
        name: String,
        #[arg(long)]
        place: Option<String>,
    },
    /// Show who this household and device are.
    Whoami,
    /// Communities: create, join, invite, members.
    #[command(subcommand)]
    Community(CommunityCommand),
    /// This household's devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// The household root key: protect it with a passphrase, or not.
    #[command(subcommand)]
    Key(KeyCommand),
    /// What households have to share.
    #[command(subcommand)]
    Offer(ItemCommand),
    /// What households need.
    #[command(subcommand)]
    Request(ItemCommand),
    /// Gatherings and RSVPs.
    #[command(subcommand)]
    Event(EventCommand),
    /// Exchanges between two households, in the community's unit.
    #[command(subcommand)]
    Exchange(ExchangeCommand),
    /// Balances of the community (or of one member).
    Balance { member: Option<String> },
    /// Open requests and the offers that may answer them.
    Match,
    /// The community's indicators.
    Stats,
    /// Write a signed bundle of everything this household holds (backup, USB sync).
    Export {
        file: PathBuf,
        /// Only this community's data (name or id prefix); by default, every
        /// community this household is in — a full backup.
        #[arg(long)]
        community: Option<String>,
    },
    /// Verify and merge a bundle written by `export`.
    Import { file: PathBuf },
    /// Run this household's node: the mesh, the web page, and the local API
    /// through which the other commands reach the household while it runs.
    Node(NodeArgs),
    /// Whether the node runs, and how it stands on the mesh.
    Status,
    /// The peers the running node is connected to.
    Peers,
    /// Print the link that opens this household's web page in a browser
    /// (the node must be running). The link holds a secret: keep it to
    /// yourself.
    Page,
    /// The local API that other programs use (the village's website, a
    /// spreadsheet): their tokens.
    #[command(subcommand)]
    Api(ApiCommand),
}

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Tokens handed to other programs.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a read-only token for another program (shown once).
    Add {
        /// Only read-only tokens can be made; say so explicitly.
        #[arg(long, required = true)]
        read_only: bool,
        /// Who it is for ("site de la mairie").
        #[arg(long)]
        label: String,
    },
    /// The tokens handed out, and which are revoked.
    List,
    /// Revoke a token, by its id (or a prefix) or its label.
    Revoke { token: String },
}

impl Command {
    /// Whether the command only reads the household's data. Run inside the
    /// node, any other command is followed by an announcement to peers.
    pub fn is_read(&self) -> bool {
        match self {
            Command::Whoami
            | Command::Balance { .. }
            | Command::Match
            | Command::Stats
            | Command::Export { .. }
            | Command::Status
            | Command::Peers
            | Command::Page
            | Command::Api(ApiCommand::Token(TokenCommand::List))
            | Command::Community(CommunityCommand::List | CommunityCommand::Members)
            | Command::Device(DeviceCommand::List)
            | Command::Offer(ItemCommand::List { .. } | ItemCommand::Show { .. })
            | Command::Request(ItemCommand::List { .. } | ItemCommand::Show { .. })
            | Command::Event(EventCommand::List { .. } | EventCommand::Show { .. } | EventCommand::Ics { .. })
            | Command::Exchange(ExchangeCommand::List) => true,
            Command::Init { .. }
            | Command::Node(_)
            | Command::Import { .. }
            | Command::Community(_)
            | Command::Device(_)
            | Command::Key(_)
            | Command::Offer(_)
            | Command::Request(_)
            | Command::Event(_)
            | Command::Exchange(_)
            | Command::Api(_) => false,
        }
    }

    /// Makes the file names the command was given absolute, against `cwd`:
    /// a command run by the node must not read or write in the node's
    /// working directory.
    pub fn resolve_paths(&mut self, cwd: &Path) {
        let file = match self {
            Command::Export { file, .. } | Command::Import { file } => file,
            Command::Event(EventCommand::Ics { output: Some(file) }) => file,
            _ => return,
        };
        if file.is_relative() {
            *file = cwd.join(&*file);
        }
    }
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Where to listen for peers, as a multiaddr (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    pub listen: Vec<String>,
    /// Where the web page listens; port 0 picks a free port. Loopback by
    /// default: give a LAN address only to serve the page to other machines.
    #[arg(long, value_name = "ADDR", default_value = maillage_node::web::DEFAULT_ADDRESS)]
    pub web: String,
    /// Where the local API listens (loopback only); port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub api: String,
    /// A relay to reach the mesh through, as a multiaddr (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    pub relay: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum CommunityCommand {
    /// Found a community; you become its steward.
    Create {
        name: String,
        /// The unit exchanges are counted in.
        #[arg(long, default_value = "heure")]
        unit: String,
        /// Mutual-credit limit: no balance may go below minus this amount.
        #[arg(long)]
        limit: Option<String>,
    },
    /// The communities this household belongs to.
    List,
    /// Choose the community other commands act in.
    Use { community: String },
    /// Make an invite code (stewards).
    Invite {
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// How long the code stays valid: 7d, 2w, 48h, or a date.
        #[arg(long, default_value = "7d")]
        expires: String,
        /// Do not draw the code as a QR code under the text.
        #[arg(long = "no-qr", action = clap::ArgAction::SetFalse)]
        qr: bool,
    },
    /// Join a community with an invite code.
    Join { code: String },
    /// Members of the community.
    Members,
    /// Remove a member (stewards).
    Remove { member: String },
}

/// The household root key is needed only to link and revoke devices; it can
/// be sealed with a passphrase, which those commands then ask for. The
/// device key is never sealed: an always-on node signs with it unattended.
///
/// The passphrase is asked on the terminal without echo; when standard input
/// is not a terminal, one line is read from it (for scripts).
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Seal the household root key with a new passphrase (asked twice).
    Protect,
    /// Write the household root key in the clear again (asks the passphrase).
    Unprotect,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Devices certified by this household.
    List,
    /// Revoke a device: what it signs from now on is refused everywhere.
    Revoke { device: String },
    /// Let a new machine of this household in: prints a one-time code for
    /// `maillage device add` (on the first device, which holds the root key).
    /// Without a running node, waits here for the new machine.
    ///
    /// With --json, prints JSON Lines: one object per line, printed as it
    /// happens, each with an "event" field.
    ///
    /// {"event":"code","code":"maillage-lien1-…","expires_at":MS} at once;
    ///
    /// {"event":"linked","device":ID,"label":NAME} when the new machine is
    /// in (only without a running node: the command then ends).
    ///
    /// A failure is the one-line {"error":…,"code":…} object every command
    /// prints.
    Link {
        /// How long the code stays valid: 30min, 2h.
        #[arg(long, default_value = "30min")]
        expires: String,
        /// Do not draw the code as a QR code under the text.
        #[arg(long = "no-qr", action = clap::ArgAction::SetFalse)]
        qr: bool,
    },
    /// On a new machine: become a device of the household whose first
    /// device printed CODE with `maillage device link`.
    Add {
        code: String,
        /// This machine's name in `device list` (default: its host name).
        #[arg(long)]
        label: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Give,
    Lend,
    Sell,
    Service,
    Space,
    Ride,
    GroupBuy,
}

#[derive(Debug, Args)]
pub struct ItemFields {
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Price in the community unit (offers).
    #[arg(long)]
    pub price: Option<String>,
    /// Hamlet or lieu-dit (never an exact address).
    #[arg(long)]
    pub place: Option<String>,
    /// Until when it stands: a date or a duration (7d, 2w).
    #[arg(long)]
    pub until: Option<String>,
    /// Ride: where from.
    #[arg(long)]
    pub from: Option<String>,
    /// Ride: where to.
    #[arg(long)]
    pub to: Option<String>,
    /// Ride: departure date and time.
    #[arg(long)]
    pub departs: Option<String>,
    /// Ride: seats offered.
    #[arg(long)]
    pub seats: Option<i64>,
    /// Group purchase: target quantity.
    #[arg(long)]
    pub target: Option<i64>,
    /// Group purchase: what is counted (kg, sacs…).
    #[arg(long)]
    pub unit: Option<String>,
    /// Group purchase: deadline.
    #[arg(long)]
    pub deadline: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// Post a new one.
    Add(ItemFields),
    /// Browse (open ones by default).
    List {
        #[arg(long)]
        category: Option<String>,
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Words to look for (case and accents do not matter).
        #[arg(long)]
        search: Option<String>,
        /// Only this household's own.
        #[arg(long)]
        mine: bool,
        #[arg(long)]
        state: Option<String>,
        /// Include closed, withdrawn and expired ones.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Everything about one.
    Show { id: String },
    /// Change one of yours.
    Edit {
        id: String,
        #[command(flatten)]
        fields: ItemFields,
        /// Remove the price (offers): it is given, lent or done for nothing.
        #[arg(long, conflicts_with = "price")]
        no_price: bool,
        /// Remove the expiry: it stands until closed.
        #[arg(long, alias = "no-expiry", conflicts_with = "until")]
        no_until: bool,
        /// New lifecycle state.
        #[arg(long)]
        state: Option<String>,
    },
    /// Mark one of yours as done (offers) or fulfilled (requests).
    Close { id: String },
    /// Delete one of yours (its content is erased everywhere).
    Delete { id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Answer {
    Yes,
    No,
    Maybe,
}

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// Add an event.
    Add {
        #[arg(long)]
        title: String,
        /// Start: "2026-12-05 18:00" (local time) or a full date with offset.
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: Option<String>,
        #[arg(long)]
        place: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Recurrence as an RRULE, e.g. FREQ=WEEKLY;BYDAY=TU
        #[arg(long)]
        repeat: Option<String>,
    },
    /// Upcoming events (or those between --from and --to).
    List {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Everything about one event, with the answers.
    Show { id: String },
    /// Answer an event.
    Rsvp {
        id: String,
        #[arg(value_enum)]
        answer: Answer,
        /// How many people from the household.
        #[arg(long, default_value_t = 1)]
        people: i64,
    },
    /// Cancel one of your events.
    Cancel { id: String },
    /// The community's events as an iCalendar file (on stdout, or --output).
    Ics {
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Propose an exchange with a member.
    Propose {
        /// The other household (name or id prefix).
        #[arg(long = "with")]
        with: String,
        #[arg(long, conflicts_with = "request")]
        offer: Option<String>,
        #[arg(long)]
        request: Option<String>,
        #[arg(long, default_value = "0")]
        amount: String,
        #[arg(long, default_value = "")]
        note: String,
        /// You received (you will be debited); by default you gave.
        #[arg(long)]
        received: bool,
    },
    Accept {
        id: String,
    },
    Decline {
        id: String,
    },
    Cancel {
        id: String,
    },
    /// Confirm that an accepted exchange took place.
    Confirm {
        id: String,
    },
    List,
}
