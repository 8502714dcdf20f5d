package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func init() {
	commands["incidents"] = command{"incidents list|ack|resolve|note  work with on-call incidents (--url, --user, --token)", runIncidents}
}

const incidentsUsage = `usage: vigil incidents COMMAND [flags] [args]

commands:
  list [--state triggered|acknowledged|resolved|open] [--team T] [--limit N]
  ack ID...                 acknowledge incidents
  resolve ID...             resolve incidents
  note ID TEXT...           add a note to an incident's timeline

flags (every command):
  --url URL      Vigil's address (default $VIGIL_URL or http://127.0.0.1:9797)
  --user NAME    who you are, recorded as the acknowledger or note author
                 (default $VIGIL_USER or $USER); ignored when the server
                 knows you from the token
  --token TOKEN  API token (default $VIGIL_TOKEN), sent as a Bearer token
  --output FMT   table or json (default table)
`

type incidentsClient struct {
	base, user, token string
	http              *http.Client
}

func runIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, incidentsUsage)
		if len(args) == 0 {
			return usageError{"incidents needs a command"}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("incidents "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := func(env, d string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return d
	}
	base := fs.String("url", def("VIGIL_URL", "http://127.0.0.1:9797"), "Vigil's address")
	user := fs.String("user", def("VIGIL_USER", os.Getenv("USER")), "your on-call user name")
	token := fs.String("token", os.Getenv("VIGIL_TOKEN"), "API token")
	output := fs.String("output", "table", "table or json")
	state := fs.String("state", "", "list: triggered, acknowledged, resolved or open (comma-separated)")
	team := fs.String("team", "", "list: only this team's incidents")
	limit := fs.Int("limit", 50, "list: at most this many")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *output != "table" && *output != "json" {
		return usageError{fmt.Sprintf("invalid --output %q: want table or json", *output)}
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("invalid --url %q: want http://host:port", *base)}
	}
	c := &incidentsClient{base: strings.TrimSuffix(*base, "/"), user: *user, token: *token, http: &http.Client{Timeout: 30 * time.Second}}
	rest := fs.Args()
	switch sub {
	case "list", "ls":
		if len(rest) > 0 {
			return usageError{fmt.Sprintf("list takes no arguments, got %q", rest)}
		}
		q := url.Values{}
		if *state != "" {
			q.Set("state", *state)
		}
		if *team != "" {
			q.Set("team", *team)
		}
		q.Set("limit", strconv.Itoa(*limit))
		var list []incidentRow
		raw, err := c.do(ctx, http.MethodGet, "/vigil/api/v1/oncall/incidents?"+q.Encode(), nil, &list)
		if err != nil {
			return err
		}
		if *output == "json" {
			_, err := stdout.Write(raw)
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tSEVERITY\tTEAM\tOPENED\tACKNOWLEDGED BY\tTITLE")
		for _, in := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.State, dash(in.Severity), dash(in.Team), in.CreatedAt.Local().Format("2006-01-02 15:04"), dash(in.AckedBy), in.Title)
		}
		return tw.Flush()
	case "ack", "acknowledge", "resolve":
		if len(rest) == 0 {
			return usageError{sub + " needs at least one incident ID"}
		}
		action := "acknowledge"
		if sub == "resolve" {
			action = "resolve"
		}
		for _, a := range rest {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Sprintf("invalid incident ID %q", a)}
			}
			var in incidentRow
			raw, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/vigil/api/v1/oncall/incidents/%d/%s", id, action), map[string]string{"user": c.user}, &in)
			if err != nil {
				return err
			}
			if *output == "json" {
				_, _ = stdout.Write(raw)
				continue
			}
			fmt.Fprintf(stdout, "incident %d %s\n", in.ID, in.State)
		}
		return nil
	case "note":
		if len(rest) < 2 {
			return usageError{"note needs an incident ID and text"}
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id <= 0 {
			return usageError{fmt.Sprintf("invalid incident ID %q", rest[0])}
		}
		raw, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/vigil/api/v1/oncall/incidents/%d/notes", id), map[string]string{"user": c.user, "text": strings.Join(rest[1:], " ")}, nil)
		if err != nil {
			return err
		}
		if *output == "json" {
			_, err := stdout.Write(raw)
			return err
		}
		fmt.Fprintf(stdout, "note added to incident %d\n", id)
		return nil
	}
	fmt.Fprint(stderr, incidentsUsage)
	return usageError{fmt.Sprintf("unknown incidents command %q", sub)}
}

type incidentRow struct {
	ID        int64     `json:"id"`
	State     string    `json:"state"`
	Title     string    `json:"title"`
	Severity  string    `json:"severity"`
	Team      string    `json:"team"`
	CreatedAt time.Time `json:"created_at"`
	AckedBy   string    `json:"acknowledged_by"`
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// do sends a request and decodes the {"status","data"} envelope's data
// into out; it returns the data as JSON.
func (c *incidentsClient) do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if resp.StatusCode/100 != 2 || env.Status != "success" {
		return nil, fmt.Errorf("%s (HTTP %d)", env.Error, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
	}
	return append(env.Data, '\n'), nil
}
