#!/bin/sh
# Regenerate the build system (configure, Makefile.in). Run once after a clone.
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all
