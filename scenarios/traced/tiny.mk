# A tiny Makefile for `make traced`: `make -j2` runs its two jobs at once.
all: a b
a: ; @sleep 0.3
b: ; @sleep 0.3
