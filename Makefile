# servesim: the README's first two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help install gen build typecheck lint test run bench clean

help:
	@echo "make run    - install, build, start both services on loopback and run a real simulation job"
	@echo "make test   - install (npm ci), generate, type-check and run the whole test suite"
	@echo "make gen    - regenerate code from proto/ (TypeScript, descriptor set, Python stubs)"
	@echo "make build  - compile to dist/ (the servesim CLI is dist/clients/cli/src/main.js)"
	@echo "make lint   - buf lint + type-check"
	@echo "make bench  - the simulation-speed benchmark (bench/RESULTS.md)"

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: node_modules/.package-lock.json

gen: install
	npm run --silent gen

build: gen
	npx tsc -p tsconfig.build.json

typecheck: gen
	npx tsc -p tsconfig.json --noEmit

lint: gen
	npx buf lint
	npx tsc -p tsconfig.json --noEmit

test:
	npm ci --no-audit --no-fund
	npm run --silent gen
	npx buf lint
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p tsconfig.build.json
	node scripts/test.mjs

run: build
	bash scripts/run-demo.sh

bench: build
	node dist/bench/run.js

clean:
	rm -rf dist gen .servesim-run
