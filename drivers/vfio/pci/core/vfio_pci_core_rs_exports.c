// SPDX-License-Identifier: GPL-2.0
/*
 * Exports the Rust symbols of the vfio_pci_core_rs crate that the Rust VFIO PCI
 * drivers use, until the build system supports Rust cross-module dependencies.
 * The list is generated from what those drivers reference (see the Makefile).
 */

#include <linux/export.h>

#define EXPORT_SYMBOL_RUST_GPL(sym) extern int sym; EXPORT_SYMBOL_GPL(sym)

#include "exports_vfio_pci_core_rs_generated.h"
