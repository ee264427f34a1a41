# Two commands (see README):
#   make demo   fresh machine -> .venv with publisher -> series/product-stories built into output/
#   make test   the same set-up, then the test suite
PYTHON ?= python3
VENV := .venv
SAMPLE := series/product-stories
# What Debian lacks for us: CJK fonts (and Symbola, a fallback for the emoji and symbols posts
# use that Noto CJK lacks: drawn in outline, in the text's ink, never as missing-glyph boxes), HarfBuzz subsetting (WeasyPrint's fast font subsetter),
# a CMYK profile for PDF/X (ghostscript), poppler and qpdf for reading PDFs back in tests (and
# pdftoppm for `publisher serve`'s page view), Chromium and its driver for the preview's browser test,
# calibre (the EPUB -> Kindle conversion test). DAISY Ace (`publisher check`'s accessibility checker)
# comes from npm and drives Debian's Chromium: Puppeteer's own browser download is skipped.
DEBS := fonts-noto-cjk fonts-symbola libharfbuzz-subset0 ghostscript poppler-utils qpdf chromium chromium-driver calibre
ACE_ENV := PUPPETEER_SKIP_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1

.PHONY: demo test system venv clean

demo: venv
	$(VENV)/bin/publisher build $(SAMPLE) -f epub -f pdf -f print -f handouts -o output/product-stories

test: venv
	$(VENV)/bin/python -m pytest -q

system:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@if ! command -v ace-puppeteer >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  if ! command -v npm >/dev/null 2>&1; then \
	    echo "installing: nodejs npm"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; \
	  fi; \
	  echo "installing: @daisy/ace (npm)"; $$SUDO env $(ACE_ENV) npm install -g --silent @daisy/ace >/dev/null; \
	fi

venv: system $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf output .pytest_cache
