package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigilhq/vigil/internal/alerting/ruletest"
	"github.com/vigilhq/vigil/internal/config"
)

func init() {
	commands["test-rules"] = command{"test-rules [--run RE] FILE...  run rule unit tests (promtool's test file format)", runTestRules}
	commands["check-rules"] = command{"check-rules FILE...      validate Prometheus rule files (as promtool check rules)", runCheckRules}
}

func runCheckRules(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: vigil check-rules RULE_FILE...")
		return usageError{"check-rules needs at least one rule file"}
	}
	failed := false
	for _, f := range args {
		if errs := config.CheckRuleFile(f); len(errs) > 0 {
			failed = true
			fmt.Fprintln(stderr, errs)
			continue
		}
		fmt.Fprintf(stdout, "%s: OK\n", f)
	}
	if failed {
		return exitError{code: 1, err: usageError{"invalid rule files"}}
	}
	return nil
}

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func runTestRules(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test-rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var run stringsFlag
	fs.Var(&run, "run", "run only test groups whose name matches this regular expression (repeatable)")
	debug := fs.Bool("debug", false, "print the duration of each test group")
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: vigil test-rules [--run RE] [--junit FILE] TEST_FILE...")
		return usageError{"test-rules needs at least one test file"}
	}
	opts := ruletest.Options{Run: run, Debug: *debug}
	if *junit != "" {
		f, err := os.Create(*junit)
		if err != nil {
			return fmt.Errorf("create JUnit report: %w", err)
		}
		defer f.Close()
		opts.JUnit = f
	}
	if code := ruletest.Run(stdout, stderr, opts, fs.Args()...); code != 0 {
		return exitError{code: code, err: usageError{"rule tests failed"}}
	}
	return nil
}
