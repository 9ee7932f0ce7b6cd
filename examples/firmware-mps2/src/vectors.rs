//! The board's part of the vector table (cortex-m-rt's `device` feature, networked build only):
//! QEMU's mps2-an386 wires the LAN9118 to IRQ 13. The lines before it go to the default
//! handler, and none of them is enabled.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;

const ETHERNET_IRQ: u16 = 13;

unsafe extern "C" {
    fn DefaultHandler();
}

unsafe extern "C" fn ethernet() {
    crate::lan9118::on_interrupt();
}

#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
pub static __INTERRUPTS: [unsafe extern "C" fn(); ETHERNET_IRQ as usize + 1] = {
    let mut table = [DefaultHandler as unsafe extern "C" fn(); ETHERNET_IRQ as usize + 1];
    table[ETHERNET_IRQ as usize] = ethernet;
    table
};

#[derive(Clone, Copy)]
struct Ethernet;

// SAFETY: 13 is the NIC's line on this board, and the table above has its handler.
unsafe impl InterruptNumber for Ethernet {
    fn number(self) -> u16 {
        ETHERNET_IRQ
    }
}

/// Lets the NIC's interrupt through (the chip raises it once it is configured).
pub fn enable_ethernet() {
    // SAFETY: the handler only touches the NIC's registers and an `AtomicWaker`.
    unsafe { NVIC::unmask(Ethernet) }
}
