//! The click agent served by the embassy adapter over a Linux TAP device: embassy-net for
//! TCP/IP, a fixed pool of connection tasks, the device ports of `click-embassy`. The black-box
//! tests run against it (see `tests/README.md`); it needs root for the TAP device.
//!
//! `click-embassy-tuntap --tap tap0 --address 10.77.0.2/24 --data-dir DIR [--compat] [--config FILE]`

mod file_flash;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use click_core::auth::jwt::Hs256;
use click_core::ports::{
    Mail, MailError, Mailer, NoDrives, NoForwarding, NoGoogle, NoLocalFiles, NoObjectStorage,
    NoShareMounts, NoTransfers, NoUpdates, Ports, Rng, SecretBox,
};
use click_core::{Agent, CoreConfig};
use click_embassy::flash_store::FlashStore;
use click_embassy::http::ReadLimits;
use click_embassy::net::Server;
use click_embassy::ports::{ChannelEvents, EmbassyClock, EventChannel, Pbkdf2Hasher, RamOutbox};
use click_embassy::ram_flash::PAGE;
use click_tokio::config::{FileConfig, Overrides};
use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use file_flash::FileFlash;
use static_cell::StaticCell;

/// Connections accepted at once: embassy-net has no backlog, so sockets listening beyond the
/// workers are the accept queue. Clients beyond it wait in their SYN retries.
const CONNECTIONS: usize = 16;
/// Connections served at once; accepted ones wait for a worker.
const WORKERS: usize = 4;
const EVENT_QUEUE: usize = 64;
/// One request's head and body; each worker has one.
const REQUEST_BUFFER: usize = 16 * 1024;
/// A WebSocket client's frames (control frames only).
const WS_CLIENT_FRAMES: usize = 256;
/// The emulated flash: 1 MiB of 4 KiB pages in `<data-dir>/flash.bin`; a row (key and value)
/// up to 2 KiB.
const FLASH_FILE: &str = "flash.bin";
const FLASH_PAGES: usize = 256;
const FLASH_ITEM: usize = 2048;
/// Messages `/management/outbox` keeps.
const OUTBOX_KEPT: usize = 32;
const PORT: u16 = 80;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "tap0")]
    tap: String,
    /// The device's address on the TAP link, with its prefix length.
    #[arg(long, default_value = "10.77.0.2/24")]
    address: String,
    /// Where the flash image (`flash.bin`), the keys and the outbox (`outbox/*.eml`) go.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    compat: bool,
    #[arg(long)]
    config: Option<PathBuf>,
}

struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the OS random source failed");
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Messages as `.eml` files, the shape the desktop outbox has, so the same tests read them;
/// the last ones are also kept for `/management/outbox`, as on any device.
struct OutboxDir(PathBuf, RamOutbox);

impl Mailer for OutboxDir {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        std::fs::create_dir_all(&self.0).map_err(|_| MailError)?;
        let nonce: [u8; 4] = click_core::ports::RngExt::bytes(&OsRng);
        let name = click_core::ports::outbox_file_name(mail.purpose, unix_ms(), &nonce);
        std::fs::write(self.0.join(name), click_core::ports::outbox_text(&mail))
            .map_err(|_| MailError)?;
        self.1.send(mail)
    }

    fn kept(&self) -> Option<Vec<Mail>> {
        self.1.kept()
    }
}

type Events = EventChannel<CriticalSectionRawMutex, EVENT_QUEUE, CONNECTIONS>;

static SERVER: StaticCell<DeviceServer> = StaticCell::new();

fn request_buffers() -> Vec<&'static mut [u8]> {
    (0..WORKERS)
        .map(|_| Box::leak(vec![0u8; REQUEST_BUFFER].into_boxed_slice()) as &mut [u8])
        .collect()
}
/// SIGTERM or SIGINT arrived (set from the signal thread).
static SIGNALLED: Signal<CriticalSectionRawMutex, ()> = Signal::new();

struct DevicePorts {
    store: FlashStore<FileFlash>,
    clock: EmbassyClock,
    signer: Hs256,
    hasher: Pbkdf2Hasher<OsRng>,
    outbox: OutboxDir,
    events: ChannelEvents<'static, CriticalSectionRawMutex, EVENT_QUEUE, CONNECTIONS>,
    secrets: SecretBox,
}

impl Ports for DevicePorts {
    type Store = FlashStore<FileFlash>;
    type Clock = EmbassyClock;
    type Rng = OsRng;
    type Signer = Hs256;
    type Hasher = Pbkdf2Hasher<OsRng>;
    type Mailer = OutboxDir;
    type Events = ChannelEvents<'static, CriticalSectionRawMutex, EVENT_QUEUE, CONNECTIONS>;
    type IdTokens = NoGoogle;
    type Logs = NoForwarding;
    type Objects = NoObjectStorage;
    type Transfers = NoTransfers;
    type Drives = NoDrives;
    type Files = NoLocalFiles;
    type Updates = NoUpdates;
    type Shares = NoShareMounts;

    fn store(&self) -> &FlashStore<FileFlash> {
        &self.store
    }
    fn clock(&self) -> &EmbassyClock {
        &self.clock
    }
    fn rng(&self) -> &OsRng {
        &OsRng
    }
    fn signer(&self) -> &Hs256 {
        &self.signer
    }
    fn hasher(&self) -> &Pbkdf2Hasher<OsRng> {
        &self.hasher
    }
    fn mailer(&self) -> &OutboxDir {
        &self.outbox
    }
    fn events(&self) -> &Self::Events {
        &self.events
    }
    fn id_tokens(&self) -> &NoGoogle {
        &NoGoogle
    }
    fn logs(&self) -> &NoForwarding {
        &NoForwarding
    }
    fn objects(&self) -> &NoObjectStorage {
        &NoObjectStorage
    }
    fn transfers(&self) -> &NoTransfers {
        &NoTransfers
    }
    fn drives(&self) -> &NoDrives {
        &NoDrives
    }
    fn files(&self) -> &NoLocalFiles {
        &NoLocalFiles
    }
    fn updates(&self) -> &NoUpdates {
        &NoUpdates
    }
    fn shares(&self) -> &NoShareMounts {
        &NoShareMounts
    }
    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

type DeviceAgent = Agent<DevicePorts>;

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

type DeviceServer = Server<
    'static,
    DevicePorts,
    CriticalSectionRawMutex,
    EVENT_QUEUE,
    CONNECTIONS,
    { CONNECTIONS + 1 },
>;

/// One of the pool: accepts and serves connections, one at a time, forever.
#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn connection_task(server: &'static DeviceServer) {
    let mut rx = [0u8; 4096];
    let mut tx = [0u8; 4096];
    let mut frames = [0u8; WS_CLIENT_FRAMES];
    server
        .serve_connections(&mut rx, &mut tx, &mut frames)
        .await
}

#[embassy_executor::task]
async fn main_task(spawner: Spawner, args: Args, config: CoreConfig, limits: ReadLimits) {
    let (address, prefix) = args.address.split_once('/').expect("--address a.b.c.d/len");
    let address: Ipv4Addr = address.parse().expect("an IPv4 address");
    let prefix: u8 = prefix.parse().expect("a prefix length");
    let device = TunTapDevice::new(&args.tap).expect("open the TAP device (root needed)");
    let net = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(address, prefix),
        gateway: None,
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<{ CONNECTIONS + 1 }>> = StaticCell::new();
    let mut seed = [0u8; 8];
    OsRng.fill(&mut seed);
    let (stack, runner) = embassy_net::new(
        device,
        net,
        RESOURCES.init(StackResources::new()),
        u64::from_le_bytes(seed),
    );
    spawner.spawn(net_task(runner).expect("one net task"));

    static EVENTS: StaticCell<Events> = StaticCell::new();
    let events: &'static Events = EVENTS.init(Events::new());
    let dir = &args.data_dir;
    click_tokio::data_dir::create_private_dir(dir).expect("create the data dir");
    let key = click_tokio::data_dir::signing_key(dir).expect("the token signing key");
    let sealing = click_tokio::data_dir::secrets_key(dir).expect("the secrets key");
    let flash = FileFlash::open(&dir.join(FLASH_FILE), FLASH_PAGES).expect("the flash image");
    let store = FlashStore::open(flash, 0..(FLASH_PAGES * PAGE) as u32, FLASH_ITEM)
        .expect("the flash store (delete flash.bin to start empty)");
    let ports = DevicePorts {
        store,
        // The host's clock stands in for the device's RTC, read once at boot.
        clock: EmbassyClock::set(unix_ms()),
        signer: Hs256::new(&key),
        hasher: Pbkdf2Hasher {
            rng: OsRng,
            iterations: 10_000,
        },
        outbox: OutboxDir(args.data_dir.join("outbox"), RamOutbox::new(OUTBOX_KEPT)),
        events: ChannelEvents { channel: events },
        secrets: SecretBox::new(&sealing),
    };
    static AGENT: StaticCell<DeviceAgent> = StaticCell::new();
    let agent: &'static DeviceAgent = AGENT.init(Agent::new(ports, config));
    let server: &'static DeviceServer = SERVER.init(Server::new(
        stack,
        PORT,
        agent,
        events,
        limits,
        request_buffers(),
    ));
    for _ in 0..CONNECTIONS {
        spawner.spawn(connection_task(server).expect("a free connection task"));
    }
    stack.wait_config_up().await;
    println!("click-embassy listening on http://{address}:{PORT}");
    // Exit (command/8), SIGTERM or SIGINT: WebSockets get their last frames and a close.
    embassy_futures::select::select(server.stopped(), SIGNALLED.wait()).await;
    server.stop();
    embassy_time::Timer::after_millis(300).await;
    std::process::exit(0);
}

/// Turns SIGTERM and SIGINT into the same shutdown as the Exit command.
fn watch_signals() {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .expect("install signal handlers");
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            SIGNALLED.signal(());
        }
    });
}

static EXECUTOR: StaticCell<Executor> = StaticCell::new();

fn main() {
    let args = Args::parse();
    let file = match &args.config {
        Some(path) => FileConfig::load(path).unwrap_or_else(|e| panic!("{e}")),
        None => FileConfig::default(),
    };
    let overrides = Overrides {
        data_dir: Some(args.data_dir.clone()),
        compat: args.compat,
        ..Overrides::default()
    };
    let settings = file.resolve(overrides).unwrap_or_else(|e| panic!("{e}"));
    let limits = ReadLimits {
        header_read_timeout_ms: settings.limits.header_read_timeout_ms,
        body_read_timeout_ms: settings.limits.body_read_timeout_ms,
    };
    watch_signals();
    let mut config = settings.core;
    // The device answers to its own address too.
    if let Some((ip, _)) = args.address.split_once('/') {
        config.allowed_hosts.push(ip.to_string());
    }
    let executor = EXECUTOR.init(Executor::new());
    executor.run(|spawner| {
        spawner.spawn(main_task(spawner, args, config, limits).expect("the main task"));
    });
}
