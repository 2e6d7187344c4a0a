# Headless Chromium against a real agent and device host (slow).
# playwright-core is installed under tests/e2e/npm/ by the test.
E2E_TESTS = tests/e2e/run-e2e.sh
TESTS += $(E2E_TESTS)
SLOW_TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS) \
	tests/e2e/dashboard.test.mjs \
	tests/e2e/package.json \
	tests/e2e/package-lock.json

clean-local: clean-local-e2e
clean-local-e2e:
	-rm -rf tests/e2e/npm tests/output/e2e
.PHONY: clean-local-e2e
