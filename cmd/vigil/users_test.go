package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestUsersCommand(t *testing.T) {
	dir := t.TempDir()
	f := func(in string, wantErr bool, want string, args ...string) {
		t.Helper()
		stdin = strings.NewReader(in)
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(args, "--data-dir", dir), &out, &errOut)
		if (err != nil) != wantErr {
			t.Fatalf("%v: err %v, stderr %s", args, err, errOut.String())
		}
		got := out.String() + errOut.String()
		if err != nil {
			got += err.Error()
		}
		if !strings.Contains(got, want) {
			t.Fatalf("%v: output %q lacks %q", args, got, want)
		}
	}
	f("s3cret-pass\n", false, "user alice added with role admin", "users", "add", "alice", "--role", "admin", "--password-stdin")
	f("s3cret-pass\n", true, "already exists", "users", "add", "alice", "--password-stdin")
	f("short\n", true, "too short", "users", "add", "bob", "--password-stdin")
	f("", true, "unknown role", "users", "add", "bob", "--role", "root")
	f("", false, "alice  admin  local", "users", "list")
	f("n3w-password\n", false, "password of alice changed", "users", "passwd", "alice")
	f("", true, "no admin would be left", "users", "role", "alice", "editor")
	f("other-pass\n", false, "user root added", "users", "add", "root", "--role", "admin", "--password-stdin")
	f("", false, "alice is now editor", "users", "role", "alice", "editor")
	f("", false, "user alice deleted", "users", "delete", "alice")
	f("", true, "no user alice", "users", "delete", "alice")
	f("", true, "unknown users subcommand", "users", "frob")
	f("", true, "takes 1 argument", "users", "add")
}
