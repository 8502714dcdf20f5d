package oncall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/oncall/schedule"
	"github.com/vigilhq/vigil/internal/oncall/spec"
	"github.com/vigilhq/vigil/internal/route"
)

const api = "/vigil/api/v1/oncall"

// Routes are the on-call API, the signed links, the Slack actions endpoint
// and the PagerDuty Events API v2 endpoint.
func (o *OnCall) Routes() []route.Route {
	rs := []route.Route{}
	for _, k := range []struct{ path, kind string }{{"users", KindUser}, {"teams", KindTeam}, {"schedules", KindSchedule}, {"escalation_policies", KindPolicy}} {
		k := k
		rs = append(rs,
			route.Func("GET", api+"/"+k.path, route.Read, func(w http.ResponseWriter, r *http.Request) { o.serveList(w, r, k.kind) }, "list on-call "+k.path),
			route.Func("POST", api+"/"+k.path, route.Write, func(w http.ResponseWriter, r *http.Request) { o.servePut(w, r, k.kind, true) }, "create an on-call "+k.kind),
			route.Func("GET", api+"/"+k.path+"/{name}", route.Read, func(w http.ResponseWriter, r *http.Request) { o.serveGetObject(w, r, k.kind) }, "get an on-call "+k.kind),
			route.Func("PUT", api+"/"+k.path+"/{name}", route.Write, func(w http.ResponseWriter, r *http.Request) { o.servePut(w, r, k.kind, false) }, "replace an on-call "+k.kind+" created through the API"),
			route.Func("DELETE", api+"/"+k.path+"/{name}", route.Write, func(w http.ResponseWriter, r *http.Request) { o.serveDelete(w, r, k.kind) }, "delete an on-call "+k.kind+" created through the API"),
		)
	}
	rs = append(rs,
		route.Func("GET", api+"/now", route.Read, o.serveNow, "who is on call now (or ?at=) on every schedule"),
		route.Func("GET", api+"/schedules/{name}/oncall", route.Read, o.serveOnCall, "who is on call on a schedule now or ?at="),
		route.Func("GET", api+"/schedules/{name}/shifts", route.Read, o.serveShifts, "a schedule's final shifts for ?start=&end= (or one layer's with ?layer=)"),
		route.Func("GET", api+"/schedules/{name}/calendar.ics", route.Read, o.serveICS, "a schedule's shifts as iCalendar for calendar subscriptions"),
		route.Func("GET", api+"/schedules/{name}/overrides", route.Read, o.serveOverrides, "a schedule's overrides"),
		route.Func("POST", api+"/schedules/{name}/overrides", route.Write, o.serveAddOverride, "add an override (user from start to end)"),
		route.Func("DELETE", api+"/schedules/{name}/overrides/{id}", route.Write, o.serveDeleteOverride, "delete an override"),
		route.Func("GET", api+"/incidents", route.Read, o.serveIncidents, "list incidents (?state=&team=&service=&since=&until=&limit=)"),
		route.Func("POST", api+"/incidents", route.Write, o.serveOpen, "open an incident by hand"),
		route.Func("GET", api+"/incidents/{id}", route.Read, o.serveIncident, "an incident with its alerts, public updates and timeline (with the alert ledger's entries unless ?ledger=false)"),
		route.Func("POST", api+"/incidents/{id}/acknowledge", route.Write, o.serveAction("acknowledge"), "acknowledge an incident"),
		route.Func("POST", api+"/incidents/{id}/resolve", route.Write, o.serveAction("resolve"), "resolve an incident"),
		route.Func("POST", api+"/incidents/{id}/reassign", route.Write, o.serveAction("reassign"), "reassign an incident to a user"),
		route.Func("POST", api+"/incidents/{id}/notes", route.Write, o.serveAction("note"), "add a note to an incident's timeline"),
		route.Func("POST", api+"/incidents/{id}/snooze", route.Write, o.serveAction("snooze"), "snooze an acknowledged incident"),
		route.Func("POST", api+"/incidents/{id}/publish", route.Write, o.serveAction("publish"), "put an incident on the status page: {title, impact, status, message}"),
		route.Func("POST", api+"/incidents/{id}/updates", route.Write, o.serveAction("update"), "add a public status update to a public incident: {status, message}"),
		route.Func("POST", api+"/incidents/{id}/unpublish", route.Write, o.serveAction("unpublish"), "take an incident off the status page"),
		route.Func("GET", api+"/report", route.Read, o.serveReport, "MTTA, MTTR, incident counts, pages per person for ?start=&end="),
		// The links and Slack's requests carry their own signatures.
		route.Func("GET", api+"/links/{token}", route.Public, o.serveLinkPage, "confirmation page of a signed acknowledge/resolve link"),
		route.Func("POST", api+"/links/{token}", route.Public, o.serveLinkPost, "apply a signed acknowledge/resolve link (single use)"),
		route.Func("POST", api+"/slack/actions", route.Public, o.serveSlack, "Slack interactive buttons (verified with Slack's signing secret)"),
		route.Func("POST", "/vigil/api/v1/events/v2/enqueue", route.Ingest, o.serveEvent, "PagerDuty Events API v2: open, acknowledge and resolve incidents"),
	)
	return rs
}

type envelope struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (o *OnCall) fail(w http.ResponseWriter, r *http.Request, err error) {
	apierr.Writer{Logger: o.logger}.JSON(w, r, err, func(rep apierr.Reply) any {
		return envelope{Status: "error", ErrorType: string(rep.Code), Error: rep.Message}
	})
}

func ok(w http.ResponseWriter, code int, data any) {
	writeJSON(w, code, envelope{Status: "success", Data: data})
}

const maxBody = 1 << 20

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return apierr.New(apierr.Invalid, "empty body: want a JSON object")
		}
		return apierr.New(apierr.Invalid, "invalid JSON body: %v", err)
	}
	return nil
}

// actor is who did something: the authenticated caller, else the body's
// "user" field (the CLI's --user).
func (o *OnCall) actor(r *http.Request, fromBody string) string {
	if o.opts.Identity != nil {
		if id := o.opts.Identity(r); id != "" {
			return id
		}
	}
	return fromBody
}

// object is an on-call object as the API shows it.
type object struct {
	Source string `json:"source"`
	Spec   any    `json:"spec"`
}

func (c *catalog) objectsOf(kind string) []object {
	var out []object
	add := func(name string, v any) {
		out = append(out, object{Source: c.source[objKey(kind, name)], Spec: v})
	}
	switch kind {
	case KindUser:
		for _, u := range c.objs.Users {
			add(u.Name, u)
		}
	case KindTeam:
		for _, t := range c.objs.Teams {
			add(t.Name, t)
		}
	case KindSchedule:
		for _, s := range c.objs.Schedules {
			add(s.Name, s)
		}
	case KindPolicy:
		for _, p := range c.objs.Policies {
			add(p.Name, p)
		}
	}
	if out == nil {
		out = []object{}
	}
	return out
}

func (o *OnCall) serveList(w http.ResponseWriter, r *http.Request, kind string) {
	objs := o.catalog().objectsOf(kind)
	if !o.seesSecrets(r) {
		for i := range objs {
			objs[i] = redacted(objs[i])
		}
	}
	ok(w, http.StatusOK, objs)
}

func (o *OnCall) seesSecrets(r *http.Request) bool {
	return o.opts.SeesSecrets == nil || o.opts.SeesSecrets(r)
}

// secretText stands where a secret was left out of an answer.
const secretText = "<secret>"

// secretKey matches the keys of an Alertmanager receiver body that hold
// credentials or URLs that embed them (webhook and api URLs, keys, tokens,
// passwords, authorization credentials).
var secretKey = regexp.MustCompile(`(?i)(url|key|token|password|secret|credentials)`)

// redacted is obj with its user's contact method secrets replaced.
func redacted(obj object) object {
	u, isUser := obj.Spec.(spec.User)
	if !isUser || len(u.ContactMethods) == 0 {
		return obj
	}
	cms := make([]spec.ContactMethod, len(u.ContactMethods))
	for i, cm := range u.ContactMethods {
		for _, f := range []*string{&cm.URL, &cm.RoutingKey, &cm.APIKey} {
			if *f != "" {
				*f = secretText
			}
		}
		if cm.Config != nil {
			cm.Config, _ = redactValue(cm.Config, false).(map[string]any)
		}
		cms[i] = cm
	}
	u.ContactMethods = cms
	obj.Spec = u
	return obj
}

// redactValue copies v with every value under a secret key replaced.
func redactValue(v any, secret bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactValue(e, secret || secretKey.MatchString(k))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, secret)
		}
		return out
	default:
		if secret && v != nil {
			return secretText
		}
		return v
	}
}

func (o *OnCall) serveGetObject(w http.ResponseWriter, r *http.Request, kind string) {
	name := r.PathValue("name")
	for _, obj := range o.catalog().objectsOf(kind) {
		if objName(obj.Spec) == name {
			if !o.seesSecrets(r) {
				obj = redacted(obj)
			}
			ok(w, http.StatusOK, obj)
			return
		}
	}
	o.fail(w, r, apierr.New(apierr.NotFound, "%s %q not found", kind, name))
}

func objName(v any) string {
	switch x := v.(type) {
	case spec.User:
		return x.Name
	case spec.Team:
		return x.Name
	case spec.Schedule:
		return x.Name
	case spec.Policy:
		return x.Name
	}
	return ""
}

func (o *OnCall) servePut(w http.ResponseWriter, r *http.Request, kind string, create bool) {
	var v any
	var name string
	var err error
	switch kind {
	case KindUser:
		var x spec.User
		err, name, v = decode(r, &x), x.Name, &x
	case KindTeam:
		var x spec.Team
		err, name, v = decode(r, &x), x.Name, &x
	case KindSchedule:
		var x spec.Schedule
		err = decode(r, &x)
		if len(x.Overrides) > 0 {
			err = errors.Join(err, apierr.New(apierr.Invalid, "overrides are added through %s/schedules/{name}/overrides", api))
		}
		name, v = x.Name, &x
	case KindPolicy:
		var x spec.Policy
		err, name, v = decode(r, &x), x.Name, &x
	}
	// decode filled x after name was read; read it again.
	name = objName(deref(v))
	if err != nil {
		o.fail(w, r, apierr.New(apierr.Invalid, "%v", err))
		return
	}
	if !create && name != r.PathValue("name") {
		o.fail(w, r, apierr.New(apierr.Invalid, "the body names %q but the path %q; renaming is delete and create", name, r.PathValue("name")))
		return
	}
	if !spec.NameRE.MatchString(name) {
		o.fail(w, r, apierr.New(apierr.Invalid, "name %q: use letters, digits, _ . @ - (at most 128)", name))
		return
	}
	if err := o.putObject(r.Context(), kind, name, v, create); err != nil {
		o.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if create {
		code = http.StatusCreated
	}
	ok(w, code, object{Source: SourceAPI, Spec: deref(v)})
}

func deref(v any) any {
	switch x := v.(type) {
	case *spec.User:
		return *x
	case *spec.Team:
		return *x
	case *spec.Schedule:
		return *x
	case *spec.Policy:
		return *x
	}
	return v
}

func (o *OnCall) serveDelete(w http.ResponseWriter, r *http.Request, kind string) {
	if err := o.deleteObject(r.Context(), kind, r.PathValue("name")); err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusOK, map[string]string{"deleted": r.PathValue("name")})
}

func (o *OnCall) scheduleOf(w http.ResponseWriter, r *http.Request) *schedule.Schedule {
	s := o.catalog().schedules[r.PathValue("name")]
	if s == nil {
		o.fail(w, r, apierr.New(apierr.NotFound, "schedule %q not found", r.PathValue("name")))
	}
	return s
}

func (o *OnCall) serveNow(w http.ResponseWriter, r *http.Request) {
	at, err := parseTimeParam("at", r.URL.Query().Get("at"), o.now())
	if err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusOK, o.WhoIsOnCall(at))
}

func (o *OnCall) serveOnCall(w http.ResponseWriter, r *http.Request) {
	s := o.scheduleOf(w, r)
	if s == nil {
		return
	}
	at, err := parseTimeParam("at", r.URL.Query().Get("at"), o.now())
	if err != nil {
		o.fail(w, r, err)
		return
	}
	sh, found := s.At(at)
	res := OnCallNow{Schedule: s.Name, At: at.UTC(), Layer: sh.Layer}
	if found {
		res.User = sh.User
	}
	ok(w, http.StatusOK, res)
}

const maxShiftSpan = 366 * 24 * time.Hour

func (o *OnCall) serveShifts(w http.ResponseWriter, r *http.Request) {
	s := o.scheduleOf(w, r)
	if s == nil {
		return
	}
	now := o.now()
	start, end, err := parseRange(r.URL.Query(), now, now.Add(7*24*time.Hour), maxShiftSpan)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	var shifts []schedule.Shift
	if l := r.URL.Query().Get("layer"); l != "" {
		// One layer's own rotation, before higher layers and overrides
		// cover it: what a calendar draws under the final schedule.
		i, err := strconv.Atoi(l)
		if err != nil || i < 0 || i >= len(s.Layers) {
			o.fail(w, r, apierr.New(apierr.Invalid, "invalid layer %q: schedule %q has layers 0 to %d", l, s.Name, len(s.Layers)-1))
			return
		}
		shifts = s.LayerShifts(i, start, end)
	} else {
		shifts = s.Shifts(start, end)
	}
	if shifts == nil {
		shifts = []schedule.Shift{}
	}
	for i := range shifts {
		shifts[i].Start, shifts[i].End = shifts[i].Start.UTC(), shifts[i].End.UTC()
	}
	ok(w, http.StatusOK, shifts)
}

func (o *OnCall) serveICS(w http.ResponseWriter, r *http.Request) {
	s := o.scheduleOf(w, r)
	if s == nil {
		return
	}
	now := o.now()
	start, end, err := parseRange(r.URL.Query(), now.Add(-7*24*time.Hour), now.Add(90*24*time.Hour), maxShiftSpan)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	names := map[string]string{}
	for _, u := range o.catalog().objs.Users {
		if u.FullName != "" {
			names[u.Name] = u.FullName
		}
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", s.Name+".ics"))
	_, _ = io.WriteString(w, schedule.ICS(s.Name, s.Shifts(start, end), names, now))
}

func (o *OnCall) serveOverrides(w http.ResponseWriter, r *http.Request) {
	sp := o.catalog().specs[r.PathValue("name")]
	if sp == nil {
		o.fail(w, r, apierr.New(apierr.NotFound, "schedule %q not found", r.PathValue("name")))
		return
	}
	ovs := sp.Overrides
	if ovs == nil {
		ovs = []spec.Override{}
	}
	ok(w, http.StatusOK, ovs)
}

func (o *OnCall) serveAddOverride(w http.ResponseWriter, r *http.Request) {
	var body spec.Override
	if err := decode(r, &body); err != nil {
		o.fail(w, r, err)
		return
	}
	sp := o.catalog().specs[r.PathValue("name")]
	if sp == nil {
		o.fail(w, r, apierr.New(apierr.NotFound, "schedule %q not found", r.PathValue("name")))
		return
	}
	loc, _ := time.LoadLocation(sp.TimeZone)
	st, err := spec.ParseTime(body.Start, loc)
	if err != nil {
		o.fail(w, r, apierr.New(apierr.Invalid, "start: %v", err))
		return
	}
	en, err := spec.ParseTime(body.End, loc)
	if err != nil {
		o.fail(w, r, apierr.New(apierr.Invalid, "end: %v", err))
		return
	}
	id, err := o.addOverride(r.Context(), sp.Name, body.User, st, en)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusCreated, spec.Override{ID: id, User: body.User, Start: st.UTC().Format(time.RFC3339), End: en.UTC().Format(time.RFC3339)})
}

func (o *OnCall) serveDeleteOverride(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		o.fail(w, r, apierr.New(apierr.Invalid, "invalid override id %q", r.PathValue("id")))
		return
	}
	if err := o.deleteOverride(r.Context(), r.PathValue("name"), id); err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusOK, map[string]int64{"deleted": id})
}

func (o *OnCall) serveIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	states, err := parseStates(q.Get("state"))
	if err != nil {
		o.fail(w, r, err)
		return
	}
	f := Filter{States: states, Team: q.Get("team"), Service: q.Get("service")}
	if f.Since, err = parseTimeParam("since", q.Get("since"), time.Time{}); err != nil {
		o.fail(w, r, err)
		return
	}
	if f.Until, err = parseTimeParam("until", q.Get("until"), time.Time{}); err != nil {
		o.fail(w, r, err)
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			o.fail(w, r, apierr.New(apierr.Invalid, "invalid limit %q: want 1 to 1000", l))
			return
		}
		f.Limit = n
	}
	list, err := o.List(r.Context(), f)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusOK, list)
}

func (o *OnCall) serveOpen(w http.ResponseWriter, r *http.Request) {
	var m Manual
	if err := decode(r, &m); err != nil {
		o.fail(w, r, err)
		return
	}
	in, err := o.OpenManual(r.Context(), m, o.actor(r, m.User))
	if err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusCreated, in)
}

func (o *OnCall) serveIncident(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		o.fail(w, r, err)
		return
	}
	get := o.Get
	switch l := r.URL.Query().Get("ledger"); l {
	case "", "true", "1":
	case "false", "0":
		get = func(ctx context.Context, id int64) (*Incident, error) { return o.getFull(ctx, o.db, id) }
	default:
		o.fail(w, r, apierr.New(apierr.Invalid, "invalid ledger %q: want true or false", l))
		return
	}
	in, err := get(r.Context(), id)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusOK, in)
}

type actionBody struct {
	User     string `json:"user"`
	Assignee string `json:"assignee"`
	Text     string `json:"text"`
	Duration string `json:"duration"`
	// publish and update
	Title   string `json:"title"`
	Impact  string `json:"impact"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (o *OnCall) serveAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := parseID(r.PathValue("id"))
		if err != nil {
			o.fail(w, r, err)
			return
		}
		var b actionBody
		if r.ContentLength != 0 {
			if err := decode(r, &b); err != nil {
				o.fail(w, r, err)
				return
			}
		}
		actor := o.actor(r, b.User)
		ctx := r.Context()
		var res any
		switch action {
		case "acknowledge":
			res, err = o.Acknowledge(ctx, id, actor)
		case "resolve":
			res, err = o.Resolve(ctx, id, actor)
		case "reassign":
			if b.Assignee == "" {
				err = apierr.New(apierr.Invalid, "reassign needs an assignee")
				break
			}
			res, err = o.Reassign(ctx, id, b.Assignee, actor)
		case "note":
			res, err = o.AddNote(ctx, id, b.Text, actor)
		case "snooze":
			var d time.Duration
			if d, err = parseDurationParam("duration", b.Duration); err == nil {
				res, err = o.Snooze(ctx, id, d, actor)
			}
		case "publish":
			res, err = o.Publish(ctx, id, Publish{Title: b.Title, Impact: b.Impact, Status: b.Status, Message: b.Message}, actor)
		case "update":
			if b.Status == "" {
				err = apierr.New(apierr.Invalid, "a public update needs a status: investigating, identified, monitoring or resolved")
				break
			}
			res, err = o.AddPublicUpdate(ctx, id, b.Status, b.Message, actor)
		case "unpublish":
			res, err = o.Unpublish(ctx, id, actor)
		}
		if err != nil {
			o.fail(w, r, err)
			return
		}
		if in, isIncident := res.(*Incident); isIncident && in != nil {
			in.URL = o.incidentURL(in.ID)
		}
		ok(w, http.StatusOK, res)
	}
}

func (o *OnCall) serveReport(w http.ResponseWriter, r *http.Request) {
	now := o.now()
	start, end, err := parseRange(r.URL.Query(), now.Add(-30*24*time.Hour), now.Add(time.Millisecond), 400*24*time.Hour)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	rep, err := o.Report(r.Context(), start, end)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	ok(w, http.StatusOK, rep)
}

var linkPage = template.Must(template.New("link").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Vigil: {{.Heading}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}button{font-size:1.2em;padding:.5em 1.5em}</style></head>
<body><h1>{{.Heading}}</h1><p>{{.Message}}</p>
{{if .Action}}<form method="post"><button type="submit">{{.Action}}</button></form>{{end}}
{{if .URL}}<p><a href="{{.URL}}">Incident details (JSON)</a></p>{{end}}
</body></html>`))

type linkView struct{ Heading, Message, Action, URL string }

func (o *OnCall) linkError(w http.ResponseWriter, err error) {
	code := http.StatusForbidden
	switch {
	case errors.Is(err, ErrLinkExpired):
		code = http.StatusGone
	case errors.Is(err, ErrLinkUsed):
		code = http.StatusConflict
	case errors.Is(err, ErrLinkForged):
	default:
		code = apierr.HTTPStatus(err)
	}
	msg := err.Error()
	if code == http.StatusInternalServerError {
		msg = apierr.Writer{Logger: o.logger}.Reply(nil, err).Message
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = linkPage.Execute(w, linkView{Heading: "This link cannot be used", Message: msg})
}

// serveLinkPage shows what the link will do; only the POST changes
// anything, so mail scanners that fetch links do not acknowledge.
func (o *OnCall) serveLinkPage(w http.ResponseWriter, r *http.Request) {
	c, err := o.parseLink(r.PathValue("token"), o.now())
	if err != nil {
		o.linkError(w, err)
		return
	}
	in, err := getIncident(r.Context(), o.db, c.Incident)
	if err != nil {
		o.linkError(w, err)
		return
	}
	verb := map[string]string{"acknowledge": "Acknowledge", "resolve": "Resolve"}[c.Action]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = linkPage.Execute(w, linkView{
		Heading: fmt.Sprintf("%s incident #%d?", verb, in.ID),
		Message: fmt.Sprintf("%s — now %s. You act as %s.", in.Title, in.State, c.User),
		Action:  verb, URL: o.incidentURL(in.ID),
	})
}

func (o *OnCall) serveLinkPost(w http.ResponseWriter, r *http.Request) {
	in, c, err := o.useLink(r.Context(), r.PathValue("token"))
	if err != nil {
		o.linkError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		ok(w, http.StatusOK, in)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = linkPage.Execute(w, linkView{Heading: fmt.Sprintf("Incident #%d is %s", in.ID, in.State), Message: fmt.Sprintf("%s — done as %s (%s).", in.Title, c.User, c.Action), URL: o.incidentURL(in.ID)})
}

func (o *OnCall) serveEvent(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxEventBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, EventResult{Status: "invalid event", Message: "Event object is invalid", Errors: []string{"could not read the body: " + err.Error()}})
		return
	}
	if len(body) > MaxEventBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, EventResult{Status: "invalid event", Message: "Event object is invalid", Errors: []string{"the body is larger than 512 KB"}})
		return
	}
	ev, errs := ParseEvent(body)
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, EventResult{Status: "invalid event", Message: "Event object is invalid", Errors: errs})
		return
	}
	key, err := o.ApplyEvent(r.Context(), ev)
	if err != nil {
		if apierr.CodeOf(err) == apierr.Invalid {
			writeJSON(w, http.StatusBadRequest, EventResult{Status: "invalid event", Message: "Event object is invalid", Errors: []string{err.Error()}})
			return
		}
		rep := apierr.Writer{Logger: o.logger}.Reply(r, err)
		if rep.Status < 500 && rep.Status != http.StatusTooManyRequests {
			rep.Status = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, rep.Status, EventResult{Status: "error", Message: rep.Message})
		return
	}
	writeJSON(w, http.StatusAccepted, EventResult{Status: "success", Message: "Event processed", DedupKey: key})
}
