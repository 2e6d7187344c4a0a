# filters/: tree filter rule files (docs/filters.md), installed in
# $(pkgdatadir)/filters (/usr/share/vmscope/filters).  The unit and
# integration tests load them from the source tree.
filtersdir = $(pkgdatadir)/filters
dist_filters_DATA = filters/kvm-apic-to-apic.json filters/virtio-blk-split.json \
	filters/virtio-blk-merge.json
