package events_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/events"
	"github.com/daifuku/daifuku/shared/flows/timeline"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

const lineSecret = "testsecret"

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// jst is a wall time in Tokyo.
func jst(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, tokyo) }

// world is one test's shop: the rig, its API, and an event of two seats
// starting 2026-12-12 14:00 in Tokyo, invited 14 days before (royal and
// semi-royal 3 days earlier still).
type world struct {
	*testrig.Rig
	h  http.Handler
	ev event.Event
}

func newWorld(t *testing.T) *world {
	t.Helper()
	r := testrig.New(t)
	ev := event.Event{ID: "tea", Title: "冬の茶会", Starts: "2026-12-12 14:00", Zone: "Asia/Tokyo", Place: "店舗2階", Capacity: 2,
		Audience: campaign.Audience{Ranks: []string{"royal", "semi-royal", "repeater"}}, InviteDays: 14,
		Early: &event.Early{Ranks: []string{"royal", "semi-royal"}, Days: 3}}
	if err := ev.Validate(r.Content.Known()); err != nil {
		t.Fatal(err)
	}
	r.Events.Defined = []event.Event{ev}
	h, err := r.APIHandler(func(k string) string { return map[string]string{"LINE_CHANNEL_SECRET": lineSecret}[k] })
	if err != nil {
		t.Fatal(err)
	}
	w := &world{Rig: r, h: h, ev: ev}
	// The cast: R1 royal by email, R2 semi-royal on LINE, P1 repeater by
	// email, P2 repeater on LINE, N1 repeater who never agreed to email.
	w.seed(t, &customer.Customer{ID: "R1", Rank: "royal", Email: "r1@example.jp", Consent: customer.Consent{Email: true}, PreferredChannel: customer.Email})
	w.seed(t, &customer.Customer{ID: "R2", Rank: "semi-royal", LINEUserID: "U-r2", Consent: customer.Consent{LINE: true}, PreferredChannel: customer.LINE})
	w.seed(t, &customer.Customer{ID: "P1", Rank: "repeater", Email: "p1@example.jp", Consent: customer.Consent{Email: true}, PreferredChannel: customer.Email})
	w.seed(t, &customer.Customer{ID: "P2", Rank: "repeater", LINEUserID: "U-p2", Consent: customer.Consent{LINE: true}, PreferredChannel: customer.LINE})
	w.seed(t, &customer.Customer{ID: "N1", Rank: "repeater", Email: "n1@example.jp", Consent: customer.Consent{Email: false}})
	return w
}

func (w *world) seed(t *testing.T, c *customer.Customer) {
	t.Helper()
	c.SignedUpAt = jst(1, 1, 0, 0)
	if err := w.Store.SaveCustomer(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// run runs the hourly events run at a Tokyo wall time.
func (w *world) run(t *testing.T, at time.Time) *events.Report {
	t.Helper()
	w.Clock.Set(at)
	rep, err := w.Events.Run(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// inviteAll invites the whole cast (both waves) and sends the invitations.
func (w *world) inviteAll(t *testing.T) {
	t.Helper()
	for _, at := range []time.Time{jst(11, 25, 15, 0), jst(11, 28, 15, 0)} {
		w.run(t, at)
		if failed := w.SendQueued(t); failed != 0 {
			t.Fatalf("%d sends failed", failed)
		}
	}
}

func (w *world) message(t *testing.T, customerID string, o event.Occasion) *message.Record {
	t.Helper()
	rec, err := w.Store.Message(context.Background(), event.Key(customerID, "tea", o))
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (w *world) status(t *testing.T, customerID string) event.Status {
	t.Helper()
	rs, err := w.Store.RSVPOf(context.Background(), "tea", customerID)
	if err != nil {
		t.Fatal(err)
	}
	if rs == nil {
		return ""
	}
	return rs.Status
}

func (w *world) counts(t *testing.T) event.Counts {
	t.Helper()
	st, err := w.Events.Status(context.Background(), "tea")
	if err != nil {
		t.Fatal(err)
	}
	return st.Counts
}

// tap posts a signed LINE webhook with one postback event and processes it.
func (w *world) tap(t *testing.T, id, userID, data string, redelivery bool) {
	t.Helper()
	ev := map[string]any{"type": "postback", "webhookEventId": id, "timestamp": w.Clock.Now().UnixMilli(), "replyToken": "rt-" + id,
		"mode": "active", "source": map[string]any{"type": "user", "userId": userID},
		"deliveryContext": map[string]any{"isRedelivery": redelivery}, "postback": map[string]any{"data": data}}
	if redelivery {
		ev["replyToken"] = "" // LINE gives no usable reply token on a redelivery
	}
	body, _ := json.Marshal(map[string]any{"destination": "U123", "events": []any{ev}})
	m := hmac.New(sha256.New, []byte(lineSecret))
	m.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/line", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /webhooks/line: %d %s", rec.Code, rec.Body)
	}
	if failed := w.ProcessWebhooks(t); failed != 0 {
		t.Fatalf("%d webhook batches failed", failed)
	}
}

// lastReply is the text of the last LINE reply.
func (w *world) lastReply(t *testing.T) string {
	t.Helper()
	var last string
	for _, r := range w.Capture.Requests("line") {
		if r.Path == "/v2/bot/message/reply" {
			last = string(r.Body)
		}
	}
	return last
}

// pushesTo counts the LINE pushes to a user that contain s.
func (w *world) pushesTo(userID, s string) int {
	n := 0
	for _, r := range w.Capture.Requests("line") {
		if r.Path == "/v2/bot/message/push" && bytes.Contains(r.Body, []byte(`"`+userID+`"`)) && bytes.Contains(r.Body, []byte(s)) {
			n++
		}
	}
	return n
}

// mailsTo are the bodies of the emails sent to an address.
func (w *world) mailsTo(addr string) []string {
	var out []string
	for _, r := range w.Capture.Requests("email") {
		if bytes.Contains(r.Body, []byte(addr)) {
			out = append(out, string(r.Body))
		}
	}
	return out
}

func (w *world) do(t *testing.T, method, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec
}

func TestRoyalAndSemiRoyalAreInvitedDaysBeforeTheRestThroughThePolicies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Before the early wave: nobody.
	if rep := w.run(t, jst(11, 25, 13, 0)); rep.Invited != 0 {
		t.Fatalf("invited %d before the early wave", rep.Invited)
	}
	// The early wave, 3 days before the rest: royal and semi-royal only.
	rep := w.run(t, jst(11, 25, 15, 0))
	if rep.Invited != 2 || w.message(t, "R1", event.Invite) == nil || w.message(t, "R2", event.Invite) == nil {
		t.Fatalf("early wave: %+v", rep)
	}
	for _, id := range []string{"P1", "P2", "N1"} {
		if w.message(t, id, event.Invite) != nil {
			t.Errorf("%s (repeater) invited in the early wave", id)
		}
	}
	if failed := w.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	// R2's invitation is a Flex message with 参加 / 不参加 postback buttons.
	if w.pushesTo("U-r2", `"data":"ev=tea\u0026a=yes"`) != 1 {
		t.Errorf("no 参加 button in the LINE invitation")
	}
	if w.pushesTo("U-r2", `"type":"postback"`) != 1 || w.pushesTo("U-r2", `不参加`) != 1 {
		t.Errorf("the LINE invitation lacks its postback buttons")
	}
	// R1's email has the signed RSVP link, the event's time in its zone.
	mails := w.mailsTo("r1@example.jp")
	if len(mails) != 1 || !strings.Contains(mails[0], "https://api.example.jp/events/rsvp?t=") || !strings.Contains(mails[0], "2026年12月12日(土) 14:00") {
		t.Fatalf("R1's invitation: %d mails %v", len(mails), mails)
	}

	// Three days later, everyone else, through the policies: N1 never
	// agreed to email, so no invitation goes and N1 is not invited.
	rep = w.run(t, jst(11, 28, 15, 0))
	if rep.Invited != 2 || w.message(t, "P1", event.Invite) == nil || w.message(t, "P2", event.Invite) == nil {
		t.Fatalf("main wave: %+v", rep)
	}
	if m := w.message(t, "N1", event.Invite); m == nil || m.Status != message.Skipped || !strings.Contains(m.Reason, "no email consent") {
		t.Errorf("N1 without consent: %+v", m)
	}
	if st := w.status(t, "N1"); st != "" {
		t.Errorf("N1 without consent is recorded %q", st)
	}
	// A second run decides nothing new, and nobody gets a second copy.
	if rep := w.run(t, jst(11, 28, 16, 0)); rep.Invited != 0 || rep.Decided[event.Invite] != 0 {
		t.Errorf("a re-run decided again: %+v", rep)
	}
	if failed := w.SendQueued(t); failed != 0 {
		t.Fatal(failed)
	}
	if n := len(w.mailsTo("r1@example.jp")); n != 1 {
		t.Errorf("R1 got %d invitations", n)
	}
	if c := w.counts(t); c.Invited != 4 {
		t.Errorf("counts: %+v", c)
	}
}

func TestTheFrequencyCapHoldsBackAnInvitation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// R1 has had as many messages as the cap allows this week.
	for i := range w.Content.Policy.Cap.Max {
		at := jst(11, 24, 10, i)
		rec := message.Record{Key: message.NewKey(message.Newsletter, "R1", at.String()), Kind: message.Newsletter, CustomerID: "R1",
			Status: message.Sent, CreatedAt: at, UpdatedAt: at}
		c, err := w.Store.Customer(context.Background(), "R1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Store.CreateMessage(context.Background(), rec, w.Content.Policy.CapChange(c.CapSends, rec)); err != nil {
			t.Fatal(err)
		}
	}
	w.run(t, jst(11, 25, 15, 0))
	if m := w.message(t, "R1", event.Invite); m == nil || m.Status != message.Suppressed {
		t.Fatalf("R1 over the cap: %+v", m)
	}
	if st := w.status(t, "R1"); st != "" {
		t.Errorf("R1, whose invitation was held back, is recorded %q", st)
	}
}

func TestRSVPByLINEPostbackCountsARedeliveredTapOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.inviteAll(t)
	w.Clock.Set(jst(12, 1, 10, 0))
	yes := event.Postback("tea", event.Yes)
	w.tap(t, "E1", "U-r2", yes, false)
	if st := w.status(t, "R2"); st != event.Attending {
		t.Fatalf("R2 after 参加: %q", st)
	}
	if r := w.lastReply(t); !strings.Contains(r, "お席をご用意しました") {
		t.Errorf("reply: %s", r)
	}
	// LINE redelivers the same tap, and the customer taps 参加 again: one seat.
	w.tap(t, "E1", "U-r2", yes, true)
	w.tap(t, "E2", "U-r2", yes, false)
	st, err := w.Store.EventState(context.Background(), "tea")
	if err != nil {
		t.Fatal(err)
	}
	if c := w.counts(t); c.Attending != 1 || st.Seats != 1 {
		t.Errorf("after a redelivered and a repeated 参加: %+v, seats %d", c, st.Seats)
	}
	// 不参加, then the old 参加 tap redelivered: it stays 不参加.
	w.tap(t, "E3", "U-r2", event.Postback("tea", event.No), false)
	w.tap(t, "E1", "U-r2", yes, true)
	if st := w.status(t, "R2"); st != event.Declined {
		t.Errorf("a redelivered 参加 after 不参加 took the seat back: %q", st)
	}
	// The invitation is marked answered.
	if m := w.message(t, "R2", event.Invite); m.RepliedAt.IsZero() {
		t.Errorf("invitation not marked answered: %+v", m)
	}
	// The timeline shows the invitation and the answers.
	tl, err := w.Timeline(context.Background(), "R2")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range tl.Entries {
		if e.Type == timeline.Event {
			seen = append(seen, e.Summary)
		}
	}
	joined := strings.Join(seen, "\n")
	for _, want := range []string{"tea: invited", "tea: attending (line)", "tea: declined (line)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("timeline lacks %q:\n%s", want, joined)
		}
	}
}

func TestRSVPBySignedEmailLinkChangesOnlyOnPost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.inviteAll(t)
	w.Clock.Set(jst(12, 1, 10, 0))
	tok := w.Events.Links.Token("tea", "R1")
	link := "/events/rsvp?t=" + url.QueryEscape(tok) + "&a=yes"
	// Link scanners fetch it: GET and HEAD show the page and change nothing.
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if rec := w.do(t, m, link, nil); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", m, rec.Code, rec.Body)
		}
	}
	if st := w.status(t, "R1"); st != event.Invited {
		t.Fatalf("GET changed the answer: %q", st)
	}
	rec := w.do(t, http.MethodPost, "/events/rsvp", url.Values{"t": {tok}, "a": {"yes"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ご参加を承りました") {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	if st := w.status(t, "R1"); st != event.Attending {
		t.Errorf("after POST: %q", st)
	}
	// The same form twice: one seat.
	w.do(t, http.MethodPost, "/events/rsvp", url.Values{"t": {tok}, "a": {"yes"}})
	if c := w.counts(t); c.Attending != 1 {
		t.Errorf("a repeated POST: %+v", c)
	}
	if m := w.message(t, "R1", event.Invite); m.RepliedAt.IsZero() {
		t.Errorf("invitation not marked answered")
	}

	// A forged or tampered link is refused and changes nothing.
	forged := event.LinkSigner{Secret: []byte("another-secret")}.Token("tea", "P1")
	tampered := strings.Replace(tok, tok[:4], "AAAA", 1)
	for _, bad := range []string{forged, tampered, ""} {
		if rec := w.do(t, http.MethodGet, "/events/rsvp?t="+url.QueryEscape(bad), nil); rec.Code != http.StatusBadRequest {
			t.Errorf("GET forged %q: %d", bad, rec.Code)
		}
		if rec := w.do(t, http.MethodPost, "/events/rsvp", url.Values{"t": {bad}, "a": {"yes"}}); rec.Code != http.StatusBadRequest ||
			!strings.Contains(rec.Body.String(), "リンクが正しくありません") {
			t.Errorf("POST forged %q: %d %s", bad, rec.Code, rec.Body)
		}
	}
	if st := w.status(t, "P1"); st != event.Invited {
		t.Errorf("a forged link changed P1: %q", st)
	}
	// A genuine link of a customer never invited (N1, no consent): refused.
	notInvited := w.Events.Links.Token("tea", "N1")
	if rec := w.do(t, http.MethodPost, "/events/rsvp", url.Values{"t": {notInvited}, "a": {"yes"}}); rec.Code != http.StatusForbidden {
		t.Errorf("not invited: %d %s", rec.Code, rec.Body)
	}
	if st := w.status(t, "N1"); st != "" {
		t.Errorf("N1 recorded %q", st)
	}
	// After the start: refused, unchanged.
	w.Clock.Set(jst(12, 12, 14, 0))
	if rec := w.do(t, http.MethodPost, "/events/rsvp", url.Values{"t": {tok}, "a": {"no"}}); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "受付は終了しました") {
		t.Errorf("after the start: %d %s", rec.Code, rec.Body)
	}
	if st := w.status(t, "R1"); st != event.Attending {
		t.Errorf("an answer after the start changed R1: %q", st)
	}
}

func TestRSVPRefusedWhenNotInvitedOrAfterTheStart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	// Before any invitation: nobody may answer.
	w.Clock.Set(jst(11, 20, 10, 0))
	if _, err := w.Events.Answer(ctx, "tea", "R1", event.Yes, "line"); !errors.Is(err, event.ErrNotInvited) {
		t.Errorf("uninvited answer: %v", err)
	}
	if _, err := w.Events.Answer(ctx, "no-such-event", "R1", event.Yes, "line"); !errors.Is(err, event.ErrNotInvited) {
		t.Errorf("answer to an unknown event: %v", err)
	}
	w.inviteAll(t)
	// N1 (no consent, so not invited) taps a button someone forwarded: refused, told so.
	w.seed(t, &customer.Customer{ID: "L1", Rank: "repeater", LINEUserID: "U-l1", Consent: customer.Consent{LINE: true}})
	w.Clock.Set(jst(12, 1, 10, 0))
	w.tap(t, "E9", "U-l1", event.Postback("tea", event.Yes), false)
	if st := w.status(t, "L1"); st != "" {
		t.Errorf("an uninvited tap recorded %q", st)
	}
	if r := w.lastReply(t); !strings.Contains(r, "承ることができませんでした") {
		t.Errorf("reply to an uninvited tap: %s", r)
	}
	// After the start.
	w.Clock.Set(jst(12, 12, 14, 1))
	if _, err := w.Events.Answer(ctx, "tea", "R2", event.Yes, "line"); !errors.Is(err, event.ErrStarted) {
		t.Errorf("answer after the start: %v", err)
	}
	if st := w.status(t, "R2"); st != event.Invited {
		t.Errorf("R2 after a late answer: %q", st)
	}
}

func TestAFullEventWaitlistsAndACancellationPromotesTheNextOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.inviteAll(t)
	w.Clock.Set(jst(12, 1, 10, 0))
	// Two seats: R1 (email) and R2 (LINE) take them.
	if _, err := w.Events.Answer(ctx, "tea", "R1", event.Yes, "email"); err != nil {
		t.Fatal(err)
	}
	w.tap(t, "E1", "U-r2", event.Postback("tea", event.Yes), false)
	// P2 then P1 ask: full, so both wait, in that order, and are told.
	w.Clock.Advance(time.Minute)
	w.tap(t, "E2", "U-p2", event.Postback("tea", event.Yes), false)
	if r := w.lastReply(t); !strings.Contains(r, "キャンセル待ち") {
		t.Errorf("P2's reply: %s", r)
	}
	w.Clock.Advance(time.Minute)
	out, err := w.Events.Answer(ctx, "tea", "P1", event.Yes, "email")
	if err != nil || out.Status != event.Waiting {
		t.Fatalf("P1: %+v %v", out, err)
	}
	for _, id := range []string{"P1", "P2"} {
		if st := w.status(t, id); st != event.Waiting {
			t.Errorf("%s: %q", id, st)
		}
		if w.message(t, id, event.Waitlisted) == nil {
			t.Errorf("%s was not told they wait", id)
		}
	}
	// R2 cancels: the seat goes to P2, the first in line, who is told.
	w.Clock.Advance(time.Minute)
	w.tap(t, "E3", "U-r2", event.Postback("tea", event.No), false)
	if st := w.status(t, "P2"); st != event.Attending {
		t.Fatalf("P2 after R2's cancellation: %q", st)
	}
	if st := w.status(t, "P1"); st != event.Waiting {
		t.Errorf("P1 after R2's cancellation: %q", st)
	}
	// The cancellation redelivered, the hourly run, a second 不参加: nobody else moves.
	w.tap(t, "E3", "U-r2", event.Postback("tea", event.No), true)
	w.tap(t, "E4", "U-r2", event.Postback("tea", event.No), false)
	w.run(t, jst(12, 1, 11, 0))
	if c := w.counts(t); c.Attending != 2 || c.Waitlisted != 1 {
		t.Errorf("after repeats: %+v", c)
	}
	st, _ := w.Store.EventState(ctx, "tea")
	if st.Seats != 2 {
		t.Errorf("seats %d, want 2", st.Seats)
	}
	if failed := w.SendQueued(t); failed != 0 {
		t.Fatal(failed)
	}
	if n := w.pushesTo("U-p2", "お席をご用意できました"); n != 1 {
		t.Errorf("P2 told %d times of the seat", n)
	}
	if n := w.pushesTo("U-p2", "キャンセル待ちとして承りました"); n != 1 {
		t.Errorf("P2 got %d waitlisted messages", n)
	}
	// P1's confirmation page said so, and the waitlisted email went.
	if mails := w.mailsTo("p1@example.jp"); len(mails) != 2 || !strings.Contains(mails[1], "キャンセル待ち") {
		t.Errorf("P1's mails: %d", len(mails))
	}
}

func TestSeatsAreNeverOverbookedUnderConcurrency(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var ids []string
	for i := range 12 {
		id := "C" + string(rune('a'+i))
		ids = append(ids, id)
		w.seed(t, &customer.Customer{ID: id, Rank: "repeater", Email: id + "@example.jp", Consent: customer.Consent{Email: true}})
		if err := w.Store.Invite(ctx, "tea", id, jst(11, 28, 15, 0)); err != nil {
			t.Fatal(err)
		}
	}
	w.Clock.Set(jst(12, 1, 10, 0))
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Events.Answer(ctx, "tea", id, event.Yes, "email"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := w.counts(t); c.Attending != 2 || c.Waitlisted != 10 {
		t.Errorf("12 at once for 2 seats: %+v", c)
	}
}

func TestReminderGoesTheDayBeforeInTheEventsZone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.inviteAll(t)
	w.Clock.Set(jst(12, 1, 10, 0))
	if _, err := w.Events.Answer(ctx, "tea", "R1", event.Yes, "email"); err != nil {
		t.Fatal(err)
	}
	// 2026-12-10 23:30 in Tokyo (14:30 UTC): two days before, locally.
	w.run(t, jst(12, 10, 23, 30))
	if w.message(t, "R1", event.Reminder) != nil {
		t.Fatal("reminder two days before")
	}
	// 2026-12-11 00:30 in Tokyo is still 2026-12-10 in UTC: the day before, locally.
	at := jst(12, 11, 0, 30)
	if at.UTC().Day() != 10 {
		t.Fatalf("test clock: %v", at.UTC())
	}
	w.run(t, at)
	m := w.message(t, "R1", event.Reminder)
	if m == nil {
		t.Fatal("no reminder on the day before in Tokyo")
	}
	// It waits for the morning in the event's zone.
	if want := jst(12, 11, 9, 0); !m.NotBefore.Equal(want) {
		t.Errorf("reminder not before %v, want %v", m.NotBefore, want)
	}
	if w.message(t, "R2", event.Reminder) != nil {
		t.Error("a reminder to R2, who did not say 参加")
	}
}

func TestNoReminderWhenOnlyUTCSaysItIsTheDayBefore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.inviteAll(t)
	w.Clock.Set(jst(12, 1, 10, 0))
	if _, err := w.Events.Answer(context.Background(), "tea", "R1", event.Yes, "email"); err != nil {
		t.Fatal(err)
	}
	// 2026-12-11 16:00 UTC is 2026-12-12 01:00 in Tokyo: the day itself.
	w.run(t, time.Date(2026, 12, 11, 16, 0, 0, 0, time.UTC))
	if w.message(t, "R1", event.Reminder) != nil {
		t.Error("reminder decided on the event's own day (UTC's day before)")
	}
}

func TestAttendanceAndThanksWithAFeedbackRequestOnlyToAttendees(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.inviteAll(t)
	w.Clock.Set(jst(12, 12, 18, 0))
	// A bad row refuses the whole list, naming it; nothing is recorded.
	_, err := w.Events.Attend(ctx, "tea", []events.Attendee{{CustomerID: "R1", Row: 2}, {CustomerID: "NOPE", Row: 3}, {CustomerID: "", Row: 4}})
	if err == nil || !strings.Contains(err.Error(), "row 3") || !strings.Contains(err.Error(), "row 4") {
		t.Fatalf("bad rows: %v", err)
	}
	if c := w.counts(t); c.Attended != 0 {
		t.Fatalf("a refused list recorded %d", c.Attended)
	}
	n, err := w.Events.Attend(ctx, "tea", []events.Attendee{{CustomerID: "R1", Row: 2}, {CustomerID: "P2", Row: 3}})
	if err != nil || n != 2 {
		t.Fatalf("attend: %d %v", n, err)
	}
	// Again: nothing new.
	if n, err := w.Events.Attend(ctx, "tea", []events.Attendee{{CustomerID: "R1"}}); err != nil || n != 0 {
		t.Errorf("again: %d %v", n, err)
	}
	// The evening of the event: no thanks yet; the next morning, to those who came.
	w.run(t, jst(12, 12, 20, 0))
	if w.message(t, "R1", event.Thanks) != nil {
		t.Fatal("thanks before the morning after")
	}
	w.run(t, jst(12, 13, 9, 30))
	for id, want := range map[string]bool{"R1": true, "P2": true, "R2": false, "P1": false} {
		if got := w.message(t, id, event.Thanks) != nil; got != want {
			t.Errorf("%s thanked: %v, want %v", id, got, want)
		}
	}
	if failed := w.SendQueued(t); failed != 0 {
		t.Fatal(failed)
	}
	mails := w.mailsTo("r1@example.jp")
	thanks := mails[len(mails)-1]
	if !strings.Contains(thanks, "ご参加ありがとうございました") || !strings.Contains(thanks, "https://api.example.jp/feedback?t=") {
		t.Errorf("R1's thanks lacks the rating links: %s", thanks)
	}
	if w.pushesTo("U-p2", "fb=rating") != 1 {
		t.Errorf("P2's LINE thanks lacks the rating buttons")
	}
	if c := w.counts(t); c.Attended != 2 {
		t.Errorf("counts: %+v", c)
	}
}
