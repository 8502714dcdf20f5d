package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/state"
)

func init() {
	commands["users"] = command{"users add|list|passwd|role|delete  manage users in the data folder (also with vigil stopped)", runUsers}
}

// stdin is where passwords are read from (tests replace it).
var stdin io.Reader = os.Stdin

const usersUsage = `usage:
  vigil users add NAME --role viewer|editor|admin [--password-stdin]
  vigil users list
  vigil users passwd NAME [--password-stdin]
  vigil users role NAME viewer|editor|admin
  vigil users delete NAME
common flags: --data-dir DIR (default ./data) or --config FILE (its data_dir)
The password is asked for on the terminal, or read from one line of
standard input with --password-stdin.`

func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usersUsage)
		return usageError{"users needs a subcommand"}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "data directory (default: the config's data_dir, else ./data)")
	cfgFile := fs.String("config", "", "configuration file whose data_dir to use")
	role := fs.String("role", "viewer", "role: viewer, editor or admin")
	fromStdin := fs.Bool("password-stdin", false, "read the password from one line of standard input")
	// Flags may follow the user name: vigil users add alice --role admin.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	want := map[string]int{"add": 1, "list": 0, "passwd": 1, "role": 2, "delete": 1}
	n, ok := want[sub]
	if !ok {
		fmt.Fprintln(stderr, usersUsage)
		return usageError{fmt.Sprintf("unknown users subcommand %q", sub)}
	}
	if len(pos) != n {
		fmt.Fprintln(stderr, usersUsage)
		return usageError{fmt.Sprintf("users %s takes %d argument(s), got %d", sub, n, len(pos))}
	}
	dir := *dataDir
	if dir == "" {
		dir = config.DefaultDataDir
		if *cfgFile != "" {
			c, err := config.Load(*cfgFile)
			if err != nil {
				return err
			}
			dir = c.DataDir
		}
	}
	db, err := state.Open(ctx, filepath.Join(dir, "state.db"), state.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := auth.OpenStore(ctx, db, nil)
	if err != nil {
		return err
	}
	audit := func(action, target string) {
		_ = st.Audit(ctx, auth.Event{Actor: "cli", Action: action, Target: target, Detail: "vigil users " + sub})
	}
	switch sub {
	case "list":
		users, err := st.Users(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tSOURCE\tCREATED")
		for _, u := range users {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Source, u.CreatedAt.Format("2006-01-02 15:04"))
		}
		return w.Flush()
	case "add":
		r, err := auth.ParseRole(*role)
		if err != nil {
			return usageError{err.Error()}
		}
		pw, err := readPassword(stderr, *fromStdin, true)
		if err != nil {
			return err
		}
		if err := st.AddUser(ctx, pos[0], r, pw); err != nil {
			return err
		}
		audit("user.add", pos[0])
		fmt.Fprintf(stdout, "user %s added with role %s\n", pos[0], r)
	case "passwd":
		pw, err := readPassword(stderr, *fromStdin, true)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, pos[0], pw); err != nil {
			return err
		}
		audit("user.passwd", pos[0])
		fmt.Fprintf(stdout, "password of %s changed; their sessions are ended\n", pos[0])
	case "role":
		r, err := auth.ParseRole(pos[1])
		if err != nil {
			return usageError{err.Error()}
		}
		if err := st.SetRole(ctx, pos[0], r); err != nil {
			return err
		}
		audit("user.role", pos[0]+" "+string(r))
		fmt.Fprintf(stdout, "%s is now %s\n", pos[0], r)
	case "delete":
		revoked, err := st.DeleteUser(ctx, pos[0])
		if err != nil {
			return err
		}
		audit("user.delete", pos[0])
		fmt.Fprintf(stdout, "user %s deleted; %d token(s) revoked (a running vigil refuses them within a minute)\n", pos[0], len(revoked))
	}
	return nil
}

// readPassword reads a password from the terminal (asked twice, not
// echoed) or from one line of standard input.
func readPassword(stderr io.Writer, fromStdin, confirm bool) (string, error) {
	if fromStdin || !isTerminal(stdin) {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fd := int(stdin.(*os.File).Fd())
	fmt.Fprint(stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if confirm {
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", fmt.Errorf("the two passwords differ")
		}
	}
	return string(a), nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
