package health

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// SQL checks a database: PingContext, or query when not empty (its rows
// are read and discarded). Observations: responseTime (ms) and connections
// (in use, from db.Stats()); the output notes the pool when it is exhausted
// (in use at MaxOpenConnections).
func SQL(db *sql.DB, query string) Check {
	return func(ctx context.Context) Result {
		start := time.Now()
		var err error
		if query == "" {
			err = db.PingContext(ctx)
		} else {
			var rows *sql.Rows
			if rows, err = db.QueryContext(ctx, query); err == nil {
				for rows.Next() {
				}
				err = rowsErr(rows)
			}
		}
		took := time.Since(start)
		st := db.Stats()
		r := Result{Status: Up, ComponentType: "datastore", Observations: []Observation{
			{Measure: "responseTime", Value: ms(took), Unit: "ms"},
			{Measure: "connections", Value: st.InUse},
			{Measure: "waitCount", Value: st.WaitCount},
		}}
		if err != nil {
			r.Status, r.Output = Down, err.Error()
		} else if st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections {
			r.Status = Warn
			r.Output = fmt.Sprintf("connection pool exhausted: %d of %d in use, %d waits", st.InUse, st.MaxOpenConnections, st.WaitCount)
		}
		return r
	}
}

func rowsErr(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// HTTP checks that GET url answers with a status below 400 (client nil
// means a client without redirects' surprises: http.DefaultClient).
func HTTP(url string, client *http.Client) Check {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) Result {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return Result{Status: Down, Output: err.Error(), ComponentType: "component"}
		}
		resp, err := client.Do(req)
		took := time.Since(start)
		r := Result{Status: Up, ComponentType: "component", Observations: []Observation{{Measure: "responseTime", Value: ms(took), Unit: "ms"}}}
		if err != nil {
			r.Status, r.Output = Down, err.Error()
			return r
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			r.Status, r.Output = Down, fmt.Sprintf("GET %s: %s", url, resp.Status)
		}
		return r
	}
}

// TCP checks that addr (host:port) accepts a connection.
func TCP(addr string) Check {
	return func(ctx context.Context) Result {
		start := time.Now()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		r := Result{Status: Up, ComponentType: "system", Observations: []Observation{{Measure: "connectTime", Value: ms(time.Since(start)), Unit: "ms"}}}
		if err != nil {
			r.Status, r.Output = Down, err.Error()
			return r
		}
		conn.Close()
		return r
	}
}

// DNS checks that host resolves (resolver nil means net.DefaultResolver).
func DNS(host string, resolver *net.Resolver) Check {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	return func(ctx context.Context) Result {
		start := time.Now()
		addrs, err := resolver.LookupHost(ctx, host)
		r := Result{Status: Up, ComponentType: "system", Observations: []Observation{
			{Measure: "responseTime", Value: ms(time.Since(start)), Unit: "ms"},
			{Measure: "addresses", Value: len(addrs)},
		}}
		if err != nil {
			r.Status, r.Output = Down, err.Error()
		} else if len(addrs) == 0 {
			r.Status, r.Output = Down, fmt.Sprintf("%s resolved to no addresses", host)
		}
		return r
	}
}
