package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// The installed dialog reads no test hook (issue 14: no environment
// variable read by a shipped binary): the names of the test build's
// variables are not even in the program. This test binary links package
// main as the package builds it (without the tag rapidreboot_testhooks),
// and the test calls run so that the linker keeps all of it; its own bytes
// then stand for the shipped program. Built with the tag, it fails.
func TestTheShippedDialogReadsNoTestHook(t *testing.T) {
	if code := run([]string{"--version"}, io.Discard); code != 0 {
		t.Fatalf("--version exited %d", code)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	// Made at run time, so that this file does not put them there itself.
	for _, name := range []string{"rapidreboot_test_root", "rapidreboot_trace"} {
		if v := strings.ToUpper(name); bytes.Contains(b, []byte(v)) {
			t.Errorf("the dialog reads %s", v)
		}
	}
}
