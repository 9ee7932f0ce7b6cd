//! An `embassy-net-driver` for the SMSC LAN9118 (the LAN9220 of the MPS2 boards, as QEMU
//! models it): 32-bit PIO through its FIFOs, no DMA. Frames come out of the RX data FIFO as
//! little-endian words after their status word; a frame goes into the TX data FIFO after two
//! command words.

use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Context;

use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;

/// Where the MPS2 boards map it.
pub const MPS2_BASE: usize = 0x4020_0000;

const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const IRQ_CFG: usize = 0x54;
const INT_STS: usize = 0x58;
const INT_EN: usize = 0x5c;
const BYTE_TEST: usize = 0x64;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7c;
const FREE_RUN: usize = 0x9c;
const TX_FIFO_INF: usize = 0x80;
const MAC_CSR_CMD: usize = 0xa4;
const MAC_CSR_DATA: usize = 0xa8;

const BYTE_TEST_VALUE: u32 = 0x8765_4321;
const HW_CFG_SOFT_RESET: u32 = 1;
/// The interrupt line enabled, push-pull, active high.
const IRQ_CFG_ON: u32 = (1 << 8) | (1 << 4) | 1;
/// A frame's status entered the RX status FIFO (at level 0: every frame).
const INT_RX_STATUS_LEVEL: u32 = 1 << 3;
/// Transmitter on; TX status may overrun (we never need it).
const TX_CFG_ON: u32 = 0x2 | 0x4;
const MAC_CSR_BUSY: u32 = 1 << 31;
const MAC_CSR_READ: u32 = 1 << 30;
const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
/// Full duplex, transmitter and receiver on; the address filter keeps unicast for us and
/// broadcast (ARP).
const MAC_CR_ON: u32 = (1 << 20) | (1 << 3) | (1 << 2);
const RX_STATUS_ERROR: u32 = 1 << 15;
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;

/// An Ethernet frame without its CRC.
const FRAME: usize = 1514;

static WAKER: AtomicWaker = AtomicWaker::new();
/// The stack waits for TX FIFO space.
static TX_WAITING: AtomicBool = AtomicBool::new(false);

/// The chip's register window.
#[derive(Clone, Copy)]
struct Regs(usize);

impl Regs {
    fn read(self, offset: usize) -> u32 {
        // SAFETY: `offset` is one of the chip's registers inside its mapped window.
        unsafe { core::ptr::read_volatile((self.0 + offset) as *const u32) }
    }

    fn write(self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.0 + offset) as *mut u32, value) }
    }

    fn mac_wait(self) {
        while self.read(MAC_CSR_CMD) & MAC_CSR_BUSY != 0 {}
    }

    fn mac_read(self, register: u32) -> u32 {
        self.mac_wait();
        self.write(MAC_CSR_CMD, MAC_CSR_BUSY | MAC_CSR_READ | register);
        self.mac_wait();
        self.read(MAC_CSR_DATA)
    }

    fn mac_write(self, register: u32, value: u32) {
        self.mac_wait();
        self.write(MAC_CSR_DATA, value);
        self.write(MAC_CSR_CMD, MAC_CSR_BUSY | register);
        self.mac_wait();
    }

    fn frames_waiting(self) -> u32 {
        (self.read(RX_FIFO_INF) >> 16) & 0xff
    }

    fn tx_free_bytes(self) -> u32 {
        self.read(TX_FIFO_INF) & 0xffff
    }
}

pub struct Lan9118 {
    regs: Regs,
    mac: [u8; 6],
    rx: [u8; FRAME + 4],
}

impl Lan9118 {
    /// Resets the chip at `base` and starts it with the address its EEPROM holds. `None` if
    /// no LAN9118 answers there.
    pub fn new(base: usize) -> Option<Lan9118> {
        let regs = Regs(base);
        if regs.read(BYTE_TEST) != BYTE_TEST_VALUE {
            return None;
        }
        regs.write(HW_CFG, HW_CFG_SOFT_RESET);
        while regs.read(HW_CFG) & HW_CFG_SOFT_RESET != 0 {}
        let low = regs.mac_read(MAC_ADDRL).to_le_bytes();
        let high = regs.mac_read(MAC_ADDRH).to_le_bytes();
        let mac = [low[0], low[1], low[2], low[3], high[0], high[1]];
        regs.write(TX_CFG, TX_CFG_ON);
        regs.mac_write(MAC_CR, MAC_CR_ON);
        regs.write(INT_STS, u32::MAX);
        regs.write(INT_EN, INT_RX_STATUS_LEVEL);
        regs.write(IRQ_CFG, IRQ_CFG_ON);
        Some(Lan9118 {
            regs,
            mac,
            rx: [0; FRAME + 4],
        })
    }

    /// The chip's free-running 25 MHz counter: where in time the boot got to, some entropy
    /// for a board without a TRNG.
    pub fn free_run(&self) -> u32 {
        self.regs.read(FREE_RUN)
    }

    /// Pops the next good frame into `rx`; its length without the CRC.
    fn pop_frame(&mut self) -> Option<usize> {
        while self.regs.frames_waiting() > 0 {
            let status = self.regs.read(RX_STATUS_FIFO);
            let len = ((status >> 16) & 0x3fff) as usize;
            let words = len.div_ceil(4);
            for i in 0..words {
                let word = self.regs.read(RX_DATA_FIFO).to_le_bytes();
                if let Some(slot) = self.rx.get_mut(i * 4..i * 4 + 4) {
                    slot.copy_from_slice(&word);
                }
            }
            let good = status & RX_STATUS_ERROR == 0 && (18..=self.rx.len()).contains(&len);
            if good {
                return Some(len - 4);
            }
        }
        None
    }

    fn tx_ready(&self) -> bool {
        // Drained statuses: the FIFO keeps 512, and we never read them otherwise.
        while (self.regs.read(TX_FIFO_INF) >> 16) & 0xff > 0 {
            self.regs.read(TX_STATUS_FIFO);
        }
        self.regs.tx_free_bytes() as usize >= FRAME + 8
    }
}

/// The NIC's interrupt (a frame came in): acknowledged, and the network stack woken.
pub fn on_interrupt() {
    let regs = Regs(MPS2_BASE);
    regs.write(INT_STS, regs.read(INT_STS));
    WAKER.wake();
}

/// Called every millisecond (from the SysTick): wakes the network stack when TX space it waits
/// for may have freed, or a frame is waiting (should an interrupt ever be missed).
pub fn poll() {
    let frames = Regs(MPS2_BASE).frames_waiting();
    if frames > 0 || TX_WAITING.swap(false, Ordering::Relaxed) {
        WAKER.wake();
    }
}

pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

pub struct TxToken {
    regs: Regs,
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl embassy_net_driver::TxToken for TxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = [0u8; FRAME];
        let len = len.min(FRAME);
        let result = f(&mut frame[..len]);
        let regs = self.regs;
        regs.write(TX_DATA_FIFO, TX_CMD_A_FIRST | TX_CMD_A_LAST | len as u32);
        regs.write(TX_DATA_FIFO, ((len as u32) << 16) | len as u32);
        for chunk in frame[..len].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            regs.write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        result
    }
}

impl embassy_net_driver::Driver for Lan9118 {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(RxToken<'_>, TxToken)> {
        WAKER.register(cx.waker());
        if !self.tx_ready() {
            TX_WAITING.store(true, Ordering::Relaxed);
            return None;
        }
        let len = self.pop_frame()?;
        let regs = self.regs;
        Some((
            RxToken {
                frame: &mut self.rx[..len],
            },
            TxToken { regs },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<TxToken> {
        WAKER.register(cx.waker());
        if self.tx_ready() {
            Some(TxToken { regs: self.regs })
        } else {
            TX_WAITING.store(true, Ordering::Relaxed);
            None
        }
    }

    fn link_state(&mut self, _: &mut Context<'_>) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = FRAME;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}
