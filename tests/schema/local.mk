# tests/schema/: the baseline of the device descriptions (docs/qidl.md), one
# vmscope-devhost --dump-vmstate per device type, and the check that make
# check (and check-fast) runs against it through vmscope-view compat.
# `make update-schema` rewrites the baseline from the devices built here.
SCHEMA_BASELINE = tests/schema/mc146818rtc.json tests/schema/serial.json \
	tests/schema/i8254.json tests/schema/virtio-blk.json tests/schema/apic.json \
	tests/schema/kvm-apic.json tests/schema/slirp.json
TESTS += tests/schema/check-schema.sh
EXTRA_DIST += tests/schema/check-schema.sh $(SCHEMA_BASELINE)

update-schema: devices/vmscope-devhost$(EXEEXT)
	@$(MKDIR_P) $(srcdir)/tests/schema
	@rm -f $(srcdir)/tests/schema/*.json
	@./devices/vmscope-devhost --dump-vmstate tests/schema-all.tmp
	@for t in `python3 -c 'import json, sys; print(" ".join(k for k in json.load(open(sys.argv[1])) if k != "vmschkmachine"))' tests/schema-all.tmp`; do \
	  ./devices/vmscope-devhost --devices "$$t" --dump-vmstate $(srcdir)/tests/schema/$$t.json || exit 1; \
	  echo "  SCHEMA  tests/schema/$$t.json"; \
	done
	@rm -f tests/schema-all.tmp
	@echo "update-schema: commit tests/schema/*.json (and list new files in SCHEMA_BASELINE)"
.PHONY: update-schema
