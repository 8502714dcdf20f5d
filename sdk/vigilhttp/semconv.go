package vigilhttp

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// This file derives the HTTP server semantic-convention attributes
// (v1.43) from a request the way otelhttp v0.72 does, so that both
// produce the same spans and metrics.

// knownMethods maps the methods the conventions know to their
// http.request.method attribute.
var knownMethods = map[string]attribute.KeyValue{
	http.MethodConnect: semconv.HTTPRequestMethodConnect,
	http.MethodDelete:  semconv.HTTPRequestMethodDelete,
	http.MethodGet:     semconv.HTTPRequestMethodGet,
	http.MethodHead:    semconv.HTTPRequestMethodHead,
	http.MethodOptions: semconv.HTTPRequestMethodOptions,
	http.MethodPatch:   semconv.HTTPRequestMethodPatch,
	http.MethodPost:    semconv.HTTPRequestMethodPost,
	http.MethodPut:     semconv.HTTPRequestMethodPut,
	http.MethodTrace:   semconv.HTTPRequestMethodTrace,
}

// method returns http.request.method and, for a method written otherwise
// than the conventions know it, http.request.method_original.
func method(m string) (attr, original attribute.KeyValue) {
	if m == "" {
		return semconv.HTTPRequestMethodOther, attribute.KeyValue{}
	}
	if a, ok := knownMethods[m]; ok {
		return a, attribute.KeyValue{}
	}
	original = semconv.HTTPRequestMethodOriginal(m)
	if a, ok := knownMethods[strings.ToUpper(m)]; ok {
		return a, original
	}
	return semconv.HTTPRequestMethodOther, original
}

// metricMethod is the method label of the metrics: a known method in
// upper case, else _OTHER.
func metricMethod(m string) string {
	if _, ok := knownMethods[m]; ok {
		return m
	}
	if u := strings.ToUpper(m); knownMethods[u].Valid() {
		return u
	}
	return "_OTHER"
}

// spanName is "{method} {route}", or "{method}" without a route; methods
// the conventions do not know are written HTTP.
func spanName(r *http.Request) string {
	m := r.Method
	if _, ok := knownMethods[m]; !ok {
		if m = strings.ToUpper(m); !knownMethods[m].Valid() {
			m = "HTTP"
		}
	}
	if route := route(r.Pattern); route != "" {
		if p := r.Pattern; len(p) == len(m)+1+len(route) && p[:len(m)] == m && p[len(m)] == ' ' {
			return p // "GET /orders/{id}" is the name already: no allocation
		}
		return m + " " + route
	}
	return m
}

// route is the path part of a ServeMux pattern ("GET /orders/{id}" ->
// "/orders/{id}").
func route(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}

// splitHostPort splits "host", "host:port", "[host]", "[host]:port" or
// ":port"; the host is "" when missing or unparsable, the port -1.
func splitHostPort(hostport string) (host string, port int) {
	port = -1
	if strings.HasPrefix(hostport, "[") {
		end := strings.LastIndexByte(hostport, ']')
		if end < 0 {
			return "", port
		}
		if strings.LastIndexByte(hostport[end:], ':') < 0 {
			return hostport[1:end], port
		}
	} else if !strings.Contains(hostport, ":") {
		return hostport, port
	}
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return host, port
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return host, port
	}
	return host, int(n)
}

// serverPort is the port worth recording: not the scheme's default.
func serverPort(https bool, port int) int {
	if port <= 0 || https && port == 443 || !https && port == 80 {
		return -1
	}
	return port
}

// protocol splits "HTTP/1.1" into "http" and "1.1".
func protocol(proto string) (name, version string) {
	name, version, _ = strings.Cut(proto, "/")
	switch name {
	case "HTTP":
		name = "http"
	case "QUIC":
		name = "quic"
	case "SPDY":
		name = "spdy"
	default:
		name = strings.ToLower(name)
	}
	return name, version
}

func scheme(https bool) attribute.KeyValue {
	if https {
		return semconv.URLScheme("https")
	}
	return semconv.URLScheme("http")
}

// status is the span status for a response code: 5xx and codes outside
// 100-599 are errors, 4xx are not (the client's fault, not the server's).
func status(code int) (codes.Code, string) {
	if code < 100 || code >= 600 {
		return codes.Error, fmt.Sprintf("Invalid HTTP status code %d", code)
	}
	if code >= 500 {
		return codes.Error, ""
	}
	return codes.Unset, ""
}

// requestAttrs appends the span attributes known when the request arrives.
func requestAttrs(attrs []attribute.KeyValue, server string, r *http.Request) []attribute.KeyValue {
	var host string
	var port int
	if server == "" {
		host, port = splitHostPort(r.Host)
	} else {
		host, port = splitHostPort(server)
		if port < 0 {
			_, port = splitHostPort(r.Host)
		}
	}
	https := r.TLS != nil
	m, original := method(r.Method)
	attrs = append(attrs, semconv.ServerAddress(host), m, scheme(https))
	if p := serverPort(https, port); p > 0 {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	if original.Valid() {
		attrs = append(attrs, original)
	}
	peer, peerPort := splitHostPort(r.RemoteAddr)
	if peer != "" {
		attrs = append(attrs, semconv.NetworkPeerAddress(peer))
		if peerPort > 0 {
			attrs = append(attrs, semconv.NetworkPeerPort(peerPort))
		}
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	client := r.Header.Get("X-Forwarded-For")
	if i := strings.IndexByte(client, ','); i >= 0 {
		client = client[:i]
	}
	if client == "" {
		client = peer
	}
	if client != "" {
		attrs = append(attrs, semconv.ClientAddress(client))
	}
	if r.URL != nil && r.URL.Path != "" {
		attrs = append(attrs, semconv.URLPath(r.URL.Path))
	}
	name, version := protocol(r.Proto)
	if name != "" && name != "http" {
		attrs = append(attrs, semconv.NetworkProtocolName(name))
	}
	if version != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(version))
	}
	if rt := route(r.Pattern); rt != "" {
		attrs = append(attrs, semconv.HTTPRoute(rt))
	}
	return attrs
}

// Label names of the metrics, the conventions' attribute keys.
const (
	labelMethod   = string(semconv.HTTPRequestMethodKey)
	labelScheme   = string(semconv.URLSchemeKey)
	labelAddress  = string(semconv.ServerAddressKey)
	labelPort     = string(semconv.ServerPortKey)
	labelProtocol = string(semconv.NetworkProtocolNameKey)
	labelVersion  = string(semconv.NetworkProtocolVersionKey)
	labelStatus   = string(semconv.HTTPResponseStatusCodeKey)
	labelRoute    = string(semconv.HTTPRouteKey)
)

// metricLabels appends the metric labels (name, value pairs) of a served
// request.
func metricLabels(kv []string, server string, r *http.Request, code int) []string {
	var host string
	var port int
	portFrom := r.Host
	if server == "" {
		host, port = splitHostPort(r.Host)
	} else {
		host, port = splitHostPort(server)
		if port < 0 {
			_, port = splitHostPort(r.Host)
		} else {
			portFrom = server
		}
	}
	https := r.TLS != nil
	kv = append(kv, labelMethod, metricMethod(r.Method), labelScheme, scheme(https).Value.AsString(), labelAddress, host)
	if p := serverPort(https, port); p > 0 {
		kv = append(kv, labelPort, portString(portFrom, p))
	}
	name, version := protocol(r.Proto)
	if name != "" {
		kv = append(kv, labelProtocol, name)
	}
	if version != "" {
		kv = append(kv, labelVersion, version)
	}
	if code > 0 {
		kv = append(kv, labelStatus, codeString(code))
	}
	if rt := route(r.Pattern); rt != "" {
		kv = append(kv, labelRoute, rt)
	}
	return kv
}

// statusText holds the decimal strings of the status codes 100-599, so
// the status label costs no allocation.
var statusText = func() []string {
	s := make([]string, 600)
	for i := 100; i < len(s); i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func codeString(code int) string {
	if code >= 100 && code < len(statusText) {
		return statusText[code]
	}
	return strconv.Itoa(code)
}

// portString writes port, reusing the digits of hostport when they are
// already its canonical form (as they nearly always are).
func portString(hostport string, port int) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		if d := hostport[i+1:]; d != "" && d[0] != '0' && len(d) <= 5 {
			if n, err := strconv.Atoi(d); err == nil && n == port {
				return d
			}
		}
	}
	return strconv.Itoa(port)
}
