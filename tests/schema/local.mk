# tests/schema/: the baseline of the device descriptions (docs/qidl.md), one
# vmscope-devhost --dump-vmstate per device type, and the check that make
# check (and check-fast) runs against it through vmscope-view compat.
# `make update-schema` rewrites the baseline from the devices built here.
SCHEMA_BASELINE = tests/schema/mc146818rtc.json tests/schema/serial.json \
	tests/schema/i8254.json tests/schema/virtio-blk.json tests/schema/apic.json \
	tests/schema/kvm-apic.json tests/schema/slirp.json
TESTS += tests/schema/check-schema.sh tests/schema/check-json-schemas.py
check_DATA += devices/qidl/descriptions.stamp
EXTRA_DIST += tests/schema/check-schema.sh tests/schema/check-json-schemas.py $(SCHEMA_BASELINE)

update-schema: devices/qidl/descriptions.stamp
	@rm -f $(srcdir)/tests/schema/*.json
	@for f in devices/qidl/*.vmstate.json; do \
	  t=`basename $$f .vmstate.json`; \
	  cp $$f $(srcdir)/tests/schema/$$t.json && echo "  SCHEMA  tests/schema/$$t.json"; \
	done
	@echo "update-schema: commit tests/schema/*.json (and list new files in SCHEMA_BASELINE)"
.PHONY: update-schema
