// Command vigil is self-hosted observability in one binary.
//
//	vigil serve [--config FILE] [--data-dir DIR] [--http-addr ADDR] ...
//	vigil check-config FILE
//	vigil version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/server"
	"github.com/vigilhq/vigil/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if !errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "vigil:", err)
		}
		os.Exit(exitCode(err))
	}
}

// command is a subcommand; other files register theirs in init.
type command struct {
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":        {"serve [flags]            run the server (the default)", runServe},
	"check-config": {"check-config FILE        validate a configuration file", runCheckConfig},
	"version":      {"version                  print version, commit and Go version", runVersion},
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vigil COMMAND [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(w, "  "+commands[n].usage)
	}
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		usage(stderr)
		return usageError{fmt.Sprintf("unknown command %q", name)}
	}
	return cmd.run(ctx, args, stdout, stderr)
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, version.String())
	return nil
}

func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: vigil check-config FILE")
		return usageError{"check-config takes one file"}
	}
	if _, err := config.Load(args[0]); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{code: 1, err: usageError{"invalid config"}}
	}
	fmt.Fprintf(stdout, "%s: OK\n", args[0])
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "configuration file (YAML); none: defaults")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir; default ./data)")
	httpAddr := fs.String("http-addr", "", "HTTP listen address (overrides http_addr; default "+config.DefaultHTTPAddr+")")
	grpcAddr := fs.String("otlp-grpc-addr", "", "OTLP gRPC listen address (overrides otlp.grpc_addr; default "+config.DefaultOTLPGRPCAddr+")")
	otlpHTTP := fs.String("otlp-http-addr", "", "OTLP HTTP listen address (overrides otlp.http_addr; default "+config.DefaultOTLPHTTPAddr+")")
	externalURL := fs.String("web.external-url", "", "URL users reach Vigil at, for every link it builds; a path is the route prefix (overrides web.external_url)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if *externalURL != "" {
		if _, err := config.ParseExternalURL(*externalURL); err != nil {
			return usageError{"invalid --web.external-url: " + err.Error()}
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Sprintf("invalid --log-level %q: want debug, info, warn or error", *logLevel)}
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	switch *logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		return usageError{fmt.Sprintf("invalid --log-format %q: want text or json", *logFormat)}
	}
	srv, err := server.New(server.Options{
		ConfigFile: *cfgFile,
		Logger:     logger,
		Override: func(c *config.Config) {
			if *dataDir != "" {
				c.DataDir = *dataDir
			}
			if *httpAddr != "" {
				c.HTTPAddr = *httpAddr
			}
			if *grpcAddr != "" {
				c.OTLP.GRPCAddr = *grpcAddr
			}
			if *otlpHTTP != "" {
				c.OTLP.HTTPAddr = *otlpHTTP
			}
			if *externalURL != "" {
				c.Web.ExternalURL = *externalURL
			}
		},
	})
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = srv.Reload() // logged by the server; the old config stays
			}
		}
	}()
	logger.Info("starting vigil", "version", version.String(), "config", *cfgFile)
	return srv.Run(ctx)
}
