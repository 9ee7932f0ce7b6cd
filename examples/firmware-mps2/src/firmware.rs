//! The board: heap, ports and the executor's entry.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use click_core::auth::jwt::Hs256;
use click_core::ports::{
    NoDrives, NoForwarding, NoGoogle, NoLocalFiles, NoObjectStorage, NoShareMounts, NoTransfers,
    NoUpdates, Ports, Rng, SecretBox,
};
use click_core::store::mem::MemStore;
use click_core::{Agent, CoreConfig};
#[cfg(not(feature = "net"))]
use click_embassy::ports::RamOutbox;
use click_embassy::ports::{ChannelEvents, EventChannel, Pbkdf2Hasher};
use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use static_cell::StaticCell;

/// Connections served at once: the task pool (and so the static RAM) is sized for them. On a
/// network they are also the accept queue (embassy-net has no backlog) and each WebSocket holds
/// one, so the networked firmware has more, with smaller socket buffers.
#[cfg(not(feature = "net"))]
pub const CONNECTIONS: usize = 4;
#[cfg(feature = "net")]
pub const CONNECTIONS: usize = 8;
pub const EVENT_QUEUE: usize = 16;
/// One connection's request buffer: head and body of the largest request it takes.
pub const REQUEST_BUFFER: usize = 4096;
pub const HEAP_SIZE: usize = 64 * 1024;

static HEAP: embedded_alloc::LlffHeap = embedded_alloc::LlffHeap::empty();
static mut HEAP_MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];

/// The heap, counting the most it ever held (reported against the RAM budget).
struct PeakTracking;

static HEAP_PEAK: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: PeakTracking = PeakTracking;

// SAFETY: every call is forwarded to the heap unchanged; only the bookkeeping is added.
unsafe impl GlobalAlloc for PeakTracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { HEAP.alloc(layout) };
        HEAP_PEAK.fetch_max(HEAP.used(), Ordering::Relaxed);
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { HEAP.dealloc(ptr, layout) }
    }
}

pub type Events = EventChannel<CriticalSectionRawMutex, EVENT_QUEUE, CONNECTIONS>;
pub static EVENTS: Events = Events::new();

/// The networked firmware keeps time with embassy-time from the host's clock at boot; the
/// self-test, which has no time driver, with a counter.
#[cfg(feature = "net")]
pub type BoardTime = click_embassy::ports::EmbassyClock;
#[cfg(not(feature = "net"))]
pub type BoardTime = BoardClock;
#[cfg(feature = "net")]
pub type BoardMailer = crate::served::HostOutbox;
#[cfg(not(feature = "net"))]
pub type BoardMailer = RamOutbox;

/// Milliseconds since the Unix epoch. The board has no real-time clock: time starts at a
/// fixed date and moves one millisecond per reading, which keeps tokens valid and ordered.
#[cfg(not(feature = "net"))]
pub struct BoardClock(Mutex<Cell<u64>>);

#[cfg(not(feature = "net"))]
impl click_core::ports::Clock for BoardClock {
    fn now_ms(&self) -> u64 {
        critical_section::with(|cs| {
            let cell = self.0.borrow(cs);
            let now = cell.get() + 1;
            cell.set(now);
            now
        })
    }
}

/// QEMU's mps2 boards model no TRNG: this is xorshift64*, seeded at build time for the
/// self-test and, in the networked build, mixed at boot with the host's time and a hardware
/// counter (`seed_rng`). Not for a product: real hardware plugs its TRNG in here; nothing else
/// changes.
#[derive(Clone, Copy)]
pub struct BoardRng;

static RNG_STATE: Mutex<Cell<u64>> = Mutex::new(Cell::new(0x9E37_79B9_7F4A_7C15));

/// Mixes `seed` into the generator (xorshift must not reach zero).
#[cfg(feature = "net")]
pub fn seed_rng(seed: u64) {
    critical_section::with(|cs| {
        let cell = RNG_STATE.borrow(cs);
        cell.set((cell.get() ^ seed).max(1));
    });
}

impl Rng for BoardRng {
    fn fill(&self, buf: &mut [u8]) {
        critical_section::with(|cs| {
            let cell = RNG_STATE.borrow(cs);
            for b in buf {
                let mut x = cell.get();
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                cell.set(x);
                *b = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
            }
        })
    }
}

pub struct BoardPorts {
    pub store: MemStore,
    pub clock: BoardTime,
    pub signer: Hs256,
    pub hasher: Pbkdf2Hasher<BoardRng>,
    pub outbox: BoardMailer,
    pub events: ChannelEvents<'static, CriticalSectionRawMutex, EVENT_QUEUE, CONNECTIONS>,
    pub secrets: SecretBox,
}

impl Ports for BoardPorts {
    type Store = MemStore;
    type Clock = BoardTime;
    type Rng = BoardRng;
    type Signer = Hs256;
    type Hasher = Pbkdf2Hasher<BoardRng>;
    type Mailer = BoardMailer;
    type Events = ChannelEvents<'static, CriticalSectionRawMutex, EVENT_QUEUE, CONNECTIONS>;
    type IdTokens = NoGoogle;
    type Logs = NoForwarding;
    type Objects = NoObjectStorage;
    type Transfers = NoTransfers;
    type Drives = NoDrives;
    type Files = NoLocalFiles;
    type Updates = NoUpdates;
    type Shares = NoShareMounts;

    fn store(&self) -> &MemStore {
        &self.store
    }
    fn clock(&self) -> &BoardTime {
        &self.clock
    }
    fn rng(&self) -> &BoardRng {
        &BoardRng
    }
    fn signer(&self) -> &Hs256 {
        &self.signer
    }
    fn hasher(&self) -> &Self::Hasher {
        &self.hasher
    }
    fn mailer(&self) -> &BoardMailer {
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

pub type BoardAgent = Agent<BoardPorts>;

/// The agent, for the life of the firmware.
pub fn static_agent(
    clock: BoardTime,
    outbox: BoardMailer,
    config: CoreConfig,
) -> &'static BoardAgent {
    use click_core::ports::RngExt;
    let key: [u8; 32] = BoardRng.bytes();
    let sealing: [u8; 32] = BoardRng.bytes();
    let ports = BoardPorts {
        store: MemStore::new(),
        clock,
        signer: Hs256::new(&key),
        // Fewer rounds than the desktop's argon2id can afford; a device sets its own.
        hasher: Pbkdf2Hasher {
            rng: BoardRng,
            iterations: 4096,
        },
        outbox,
        events: ChannelEvents { channel: &EVENTS },
        secrets: SecretBox::new(&sealing),
    };
    static AGENT: StaticCell<BoardAgent> = StaticCell::new();
    AGENT.init(Agent::new(ports, config))
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    // SAFETY: runs once, before anything allocates; the memory is used by the heap only.
    unsafe { HEAP.init((&raw mut HEAP_MEMORY) as usize, HEAP_SIZE) };
    #[cfg(feature = "net")]
    let passed = crate::served::run(spawner).await;
    #[cfg(not(feature = "net"))]
    let passed = {
        let agent = static_agent(
            // 2026-01-01T00:00:00Z.
            BoardClock(Mutex::new(Cell::new(1_767_225_600_000))),
            RamOutbox::new(8),
            CoreConfig::default(),
        );
        crate::selftest::run(spawner, agent).await
    };
    hprintln!(
        "size: heap peak {} bytes of {} (static, in .bss)",
        HEAP_PEAK.load(Ordering::Relaxed),
        HEAP_SIZE
    );
    debug::exit(if passed {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
