//! embassy-time on the Cortex-M SysTick: a 1 kHz interrupt counts milliseconds and wakes the
//! timers that are due. The same tick looks at the NIC (see `lan9118::poll`), for TX space.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The core clock of QEMU's mps2 boards.
const CORE_HZ: u32 = 25_000_000;
const TICKS_PER_MS: u64 = embassy_time_driver::TICK_HZ / 1000;

struct SysTickDriver {
    ms: Mutex<Cell<u64>>,
    /// When the earliest queued timer is due, in driver ticks.
    next: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl SysTickDriver {
    fn now_in(&self, cs: CriticalSection<'_>) -> u64 {
        self.ms.borrow(cs).get() * TICKS_PER_MS
    }

    /// Wakes what is due and remembers when the next one is.
    fn expire(&self, cs: CriticalSection<'_>) {
        let now = self.now_in(cs);
        let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
        self.next.borrow(cs).set(next);
    }

    fn tick(&self) {
        critical_section::with(|cs| {
            let ms = self.ms.borrow(cs);
            ms.set(ms.get() + 1);
            if self.now_in(cs) >= self.next.borrow(cs).get() {
                self.expire(cs);
            }
        });
        crate::lan9118::poll();
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now_in(cs))
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            if self.queue.borrow_ref_mut(cs).schedule_wake(at, waker) {
                self.expire(cs);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ms: Mutex::new(Cell::new(0)),
    next: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Starts the millisecond tick.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.tick();
}
