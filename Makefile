# SPDX-License-Identifier: GPL-2.0
#
# vfio-rs: a Rust vfio-pci stack for Linux, as an overlay + patch series on a pinned kernel.
# This Makefile drives the project's harness; it is never copied into the kernel tree.
#
#   make test      set up, build, boot the guest, run KUnit + guest tests (CI runs this)
#   make demo      set up, build, boot the guest and show what the project does
#   make bench     set up, build, boot the guest and time C vs Rust vfio-pci (results/bench.*)
#   make shell     boot the guest with an interactive shell
#   make setup     install packages and unpack the pinned base (idempotent)
#   make build     compose base + patches + new files and build bzImage + modules
#   make worktree  a git tree (base + project) to edit in place; make refresh exports it
#
# Variables: KERNEL_SRC=<own tree> builds against it; ONLY=<regex> picks guest tests;
# VFIO_RS_CACHE=<dir> moves the cache (default ~/.cache/vfio-rs).

H := harness/scripts

.PHONY: all test demo bench shell setup build worktree refresh clean help

all: test

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

setup:
	@$(H)/setup.sh

build: setup
	@$(H)/build.sh

test:
	@$(H)/test.sh

demo: build
	@$(H)/boot.sh demo

bench:
	@$(H)/bench.sh

shell: build
	@$(H)/boot.sh shell

worktree: setup
	@$(H)/worktree.sh

refresh:
	@$(H)/refresh.sh

clean:
	rm -rf results results.host.tap
