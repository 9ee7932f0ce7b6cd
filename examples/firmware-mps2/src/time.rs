//! embassy-time on the board's timers: time is read from the CMSDK APB timer 0, free-running
//! at the 25 MHz system clock (so it keeps up with real time even when the 1 kHz SysTick
//! interrupt is late, as it is in QEMU on a loaded host); the SysTick wakes the timers that
//! are due. The same tick looks at the NIC (see `lan9118::poll`), for TX space.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The system clock of QEMU's mps2 boards (the core and the APB timers).
const CLOCK_HZ: u32 = 25_000_000;
const CYCLES_PER_TICK: u64 = CLOCK_HZ as u64 / embassy_time_driver::TICK_HZ;

/// CMSDK APB timer 0: a 32-bit down-counter that wraps every 171 s.
const TIMER0: usize = 0x4000_0000;
const TIMER_CTRL: usize = 0x0;
const TIMER_VALUE: usize = 0x4;
const TIMER_RELOAD: usize = 0x8;
const TIMER_ENABLE: u32 = 1;

fn timer_write(offset: usize, value: u32) {
    // SAFETY: a register of timer 0 in its mapped window.
    unsafe { core::ptr::write_volatile((TIMER0 + offset) as *mut u32, value) }
}

fn timer_value() -> u32 {
    // SAFETY: as in `timer_write`.
    unsafe { core::ptr::read_volatile((TIMER0 + TIMER_VALUE) as *const u32) }
}

struct BoardTimeDriver {
    /// The counter's last reading and the cycles counted up to it: read at least every
    /// millisecond (the SysTick), so no wrap is missed.
    counter: Mutex<Cell<(u32, u64)>>,
    /// When the earliest queued timer is due, in driver ticks.
    next: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl BoardTimeDriver {
    fn now_in(&self, cs: CriticalSection<'_>) -> u64 {
        let counter = self.counter.borrow(cs);
        let (last, cycles) = counter.get();
        let value = timer_value();
        let cycles = cycles + u64::from(last.wrapping_sub(value));
        counter.set((value, cycles));
        cycles / CYCLES_PER_TICK
    }

    /// Wakes what is due and remembers when the next one is.
    fn expire(&self, cs: CriticalSection<'_>) {
        let now = self.now_in(cs);
        let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
        self.next.borrow(cs).set(next);
    }

    fn tick(&self) {
        critical_section::with(|cs| {
            if self.now_in(cs) >= self.next.borrow(cs).get() {
                self.expire(cs);
            }
        });
        crate::lan9118::poll();
    }
}

impl Driver for BoardTimeDriver {
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

embassy_time_driver::time_driver_impl!(static DRIVER: BoardTimeDriver = BoardTimeDriver {
    counter: Mutex::new(Cell::new((u32::MAX, 0))),
    next: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Starts the clock and the millisecond tick.
pub fn start(mut syst: SYST) {
    timer_write(TIMER_RELOAD, u32::MAX);
    timer_write(TIMER_VALUE, u32::MAX);
    timer_write(TIMER_CTRL, TIMER_ENABLE);
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CLOCK_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.tick();
}
