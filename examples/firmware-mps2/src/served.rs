//! The networked firmware (feature `net`): the agent on the board's LAN9118 at 10.0.2.15:80,
//! the address QEMU's user network gives its guest, reached from the host through `hostfwd`.
//! The black-box tests run against it (`tests/run-on-firmware.sh`).
//!
//! QEMU's semihosting stands in for what a real board has elsewhere: the host's time at boot
//! for its real-time clock, `config.json` in QEMU's working directory (and `--compat` on the
//! command line) for its settings, and a copy of each outgoing message in `outbox/` there for
//! the tests.

use click_core::ports::{Clock, Mail, MailError, Mailer, RngExt, outbox_file_name, outbox_text};
use click_embassy::config::DeviceConfig;
use click_embassy::net::Server;
use click_embassy::ports::{EmbassyClock, RamOutbox};
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, StackResources, StaticConfigV4};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use static_cell::{ConstStaticCell, StaticCell};

use crate::firmware::{
    BoardAgent, BoardPorts, BoardRng, CONNECTIONS, EVENT_QUEUE, EVENTS, REQUEST_BUFFER,
};
use crate::host;
use crate::lan9118::{Lan9118, MPS2_BASE};

const PORT: u16 = 80;
/// Connections running the request path at once; the rest of the pool is the accept queue.
const WORKERS: usize = 2;
/// Each connection's TCP buffers, one way.
const SOCKET_BUFFER: usize = 1024;
/// A WebSocket client's frames (control frames only).
const WS_CLIENT_FRAMES: usize = 256;
/// Messages `/management/outbox` keeps.
const OUTBOX_KEPT: usize = 16;

type BoardServer = Server<
    'static,
    BoardPorts,
    CriticalSectionRawMutex,
    EVENT_QUEUE,
    CONNECTIONS,
    { CONNECTIONS + 1 },
>;

/// The device's outbox, with a copy of each message on the debug host.
/// Files are named by the device's clock, so their names sort as the messages were sent.
pub struct HostOutbox(RamOutbox, EmbassyClock);

impl Mailer for HostOutbox {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        let name = outbox_file_name(mail.purpose, self.1.now_ms(), &BoardRng.bytes());
        host::write_file(
            &alloc::format!("outbox/{name}"),
            outbox_text(&mail).as_bytes(),
        );
        self.0.send(mail)
    }

    fn kept(&self) -> Option<alloc::vec::Vec<Mail>> {
        self.0.kept()
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Lan9118>) -> ! {
    runner.run().await
}

/// One of the pool: accepts and serves connections, one at a time, forever.
#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn connection_task(server: &'static BoardServer) {
    let mut rx = [0u8; SOCKET_BUFFER];
    let mut tx = [0u8; SOCKET_BUFFER];
    let mut frames = [0u8; WS_CLIENT_FRAMES];
    server
        .serve_connections(&mut rx, &mut tx, &mut frames)
        .await
}

/// `config.json` if there is one (the keys of click-agent's configuration file that a device
/// has); `None`, after saying why, if it is invalid.
fn configuration() -> Option<DeviceConfig> {
    let Some(json) = host::read_file("config.json") else {
        return Some(DeviceConfig::default());
    };
    DeviceConfig::from_json(&json)
        .inspect_err(|e| hprintln!("{}", e))
        .ok()
}

/// Serves until `command/8` (Exit). False if the board has no network.
pub async fn run(spawner: Spawner) -> bool {
    let peripherals = cortex_m::Peripherals::take().expect("taken once");
    crate::time::start(peripherals.SYST);
    let Some(nic) = Lan9118::new(MPS2_BASE) else {
        hprintln!("no LAN9118 at {:#x}", MPS2_BASE);
        return false;
    };
    crate::vectors::enable_ethernet();
    // QEMU's board has no TRNG (a real one plugs its own into `BoardRng`): the host's time and
    // where the boot got to on the NIC's 25 MHz counter keep two boots' keys apart.
    crate::firmware::seed_rng(
        host::unix_secs() ^ host::clock_cs().rotate_left(24) ^ u64::from(nic.free_run()) << 32,
    );
    let net = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<{ CONNECTIONS + 1 }>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        nic,
        net,
        RESOURCES.init(StackResources::new()),
        BoardRng
            .bytes::<8>()
            .iter()
            .fold(0, |s, b| s << 8 | u64::from(*b)),
    );
    spawner.spawn(net_task(runner).expect("one net task"));

    let Some(mut device) = configuration() else {
        return false;
    };
    device.compat |= host::has_arg("--compat");
    let (config, limits) = device.resolve();
    let boot_ms = host::unix_secs() * 1000;
    let clock = EmbassyClock::set(boot_ms);
    let agent: &'static BoardAgent = crate::firmware::static_agent(
        clock,
        HostOutbox(RamOutbox::new(OUTBOX_KEPT), EmbassyClock::set(boot_ms)),
        config,
    );
    static REQUEST_BUFFERS: ConstStaticCell<[[u8; REQUEST_BUFFER]; WORKERS]> =
        ConstStaticCell::new([[0; REQUEST_BUFFER]; WORKERS]);
    let buffers = REQUEST_BUFFERS
        .take()
        .iter_mut()
        .map(|b| &mut b[..])
        .collect();
    static SERVER: StaticCell<BoardServer> = StaticCell::new();
    let server: &'static BoardServer =
        SERVER.init(Server::new(stack, PORT, agent, &EVENTS, limits, buffers));
    for _ in 0..CONNECTIONS {
        spawner.spawn(connection_task(server).expect("a free connection task"));
    }
    stack.wait_config_up().await;
    hprintln!("click-embassy listening on http://10.0.2.15:{}", PORT);
    server.stopped().await;
    // WebSockets send their last frames and their close.
    embassy_time::Timer::after_millis(300).await;
    true
}
