package publishing_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/shared/flows/publishing"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

const subject = "thank-you/royal/email.subject.liquid"

func seeded(t *testing.T) *testrig.Rig {
	t.Helper()
	r := testrig.New(t)
	if ok, err := app.Seed(context.Background(), r.Store, "seed", r.Clock.Now()); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	if ok, err := app.Seed(context.Background(), r.Store, "seed", r.Clock.Now()); err != nil || ok {
		t.Fatalf("a second seed must leave the table as it is: %v %v", ok, err)
	}
	return r
}

func published(t *testing.T, r *testrig.Rig) contentset.Revision {
	t.Helper()
	rev, err := r.Store.Published(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// Saves are versions; a stale base is refused with the latest named; a
// file that does not parse is refused at its line and saves nothing.
func TestSavesAreVersionsAndAStaleBaseIsRefused(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	ctx := context.Background()
	n, err := r.Desk.Save(ctx, subject, "{{ customer.name }}様、いつもありがとうございます", 1, "hanako@shop", "shorter")
	if err != nil || n != 2 {
		t.Fatalf("save: %d %v", n, err)
	}
	_, err = r.Desk.Save(ctx, subject, "another edit on the old version", 1, "taro@shop", "")
	var stale *contentset.StaleError
	if !errors.As(err, &stale) || stale.Latest != 2 {
		t.Fatalf("save on a stale base: %v; want a StaleError naming version 2", err)
	}
	_, err = r.Desk.Save(ctx, subject, "line one\n{{ customer.name | shout }}", 2, "hanako@shop", "")
	var invalid *contentset.Invalid
	if !errors.As(err, &invalid) || invalid.Problems[0].Line != 2 || invalid.Problems[0].Column != 20 {
		t.Fatalf("unknown filter: %v; want it at line 2, column 20", err)
	}
	vs, err := r.Store.Versions(ctx, subject)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[0].Author != "hanako@shop" || vs[0].Comment != "shorter" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	if rev := published(t, r); rev.N != 1 || rev.Files[subject] != 1 {
		t.Errorf("a save published something: %+v", rev)
	}
}

// Bad input changes nothing: path tricks, oversize, invalid UTF-8, a
// runaway loop, a version that does not exist, a set that would not run.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	ctx := context.Background()
	for _, p := range []string{"../ranks.yaml", "/etc/passwd", "thank-you/../ranks.yaml", "thank-you/royal/../../x.liquid",
		"thank-you\\royal\\email.txt.liquid", "Thank-You/royal/email.txt.liquid", "thank-you/royal/notes.md", "templates.go",
		"nokind/x/email.html.liquid"} {
		if _, err := r.Desk.Save(ctx, p, "x", 0, "a", ""); !errors.Is(err, contentset.ErrPath) && !strings.Contains(err.Error(), "not a content file") {
			t.Errorf("save %q: %v; want the path refused", p, err)
		}
	}
	for name, src := range map[string]string{
		"oversize":      strings.Repeat("あ", contentset.MaxFileSize),
		"invalid UTF-8": "\xff\xfe",
		"runaway":       "{% for a in (1..1000) %}{% for b in (1..1000) %}x{% endfor %}{% endfor %}",
	} {
		if _, err := r.Desk.Save(ctx, subject, src, 1, "a", ""); err == nil {
			t.Errorf("%s: saved", name)
		}
	}
	if _, err := r.Desk.Publish(ctx, subject, 9, "a", ""); !errors.Is(err, contentset.ErrNoVersion) {
		t.Errorf("publish a version that does not exist: %v", err)
	}
	// plans.yaml naming a template folder that does not exist: it saves
	// (it parses), but the set would not run, so it is not published.
	plans, err := r.Desk.File(ctx, "plans.yaml", 0)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(plans.Source, "step/new-arrival", "step/no-such-folder", 1)
	n, err := r.Desk.Save(ctx, "plans.yaml", broken, plans.Version, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Desk.Publish(ctx, "plans.yaml", n, "a", "")
	var invalid *contentset.Invalid
	if !errors.As(err, &invalid) || invalid.Problems[0].File != "plans.yaml" {
		t.Fatalf("publish of a set that would not run: %v", err)
	}
	// Flex LINE would refuse: no alt text, a component LINE does not know,
	// alt text over LINE's limit. Each saves (the Liquid is fine) and is
	// refused at publish, with the file named.
	const flex = "birthday/royal/line.flex.json.liquid"
	orig, err := r.Desk.File(ctx, flex, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		"no alt text":       strings.Replace(orig.Source, `"altText"`, `"altTextX"`, 1),
		"unknown component": strings.Replace(orig.Source, `"type": "box"`, `"type": "marquee"`, 1),
		"alt text too long": strings.Replace(orig.Source, `"altText": "`, `"altText": "`+strings.Repeat("あ", 1501), 1),
	} {
		latest, _ := r.Store.LatestVersions(ctx)
		n, err := r.Desk.Save(ctx, flex, src, latest[flex], "a", name)
		if err != nil {
			t.Fatalf("%s: save: %v", name, err)
		}
		_, err = r.Desk.Publish(ctx, flex, n, "a", "")
		if !errors.As(err, &invalid) || !strings.Contains(invalid.Error(), flex) {
			t.Errorf("%s: publish %v; want it refused naming %s", name, err, flex)
		}
	}
	if rev := published(t, r); rev.N != 1 {
		t.Errorf("published revision %d after refused input; want 1", rev.N)
	}
}

// Publish, then roll back: each is a revision with who and when, and a
// function sees it within its check interval, records it on each message,
// and renders the new words.
func TestPublishReachesTheSenderAndRollbackRestores(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	ctx := context.Background()
	live, err := app.NewLive(ctx, r.Deps)
	if err != nil {
		t.Fatal(err)
	}
	live.Every = time.Minute
	n, err := r.Desk.Save(ctx, subject, "{{ customer.name }}様、新しいお礼の言葉です", 1, "hanako@shop", "new words")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := r.Desk.Publish(ctx, subject, n, "hanako@shop", "try the new words")
	if err != nil || rev.N != 2 {
		t.Fatalf("publish: %+v %v", rev, err)
	}
	if a := live.App(ctx); a.ContentRevision != 1 {
		t.Errorf("revision %d seen before the check interval passed", a.ContentRevision)
	}
	r.Clock.Advance(time.Minute)
	a := live.App(ctx)
	if a.ContentRevision != 2 {
		t.Fatalf("revision %d a minute after the publish, want 2", a.ContentRevision)
	}
	send := func(order string) (string, *message.Record) {
		t.Helper()
		c := &customer.Customer{ID: "R1", Email: "r1@example.jp", Rank: "royal", Name: "花子", Consent: customer.Consent{Email: true}}
		if err := r.Store.PutCustomers(ctx, []*customer.Customer{c}); err != nil {
			t.Fatal(err)
		}
		key := message.NewKey(message.ThankYou, c.ID, "order:"+order)
		if err := a.Sender.Send(ctx, message.Job{Key: key, Kind: message.ThankYou, CustomerID: c.ID, Rank: "royal"}); err != nil {
			t.Fatal(err)
		}
		rec, err := r.Store.Message(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		reqs := r.Capture.Requests("email")
		return string(reqs[len(reqs)-1].Body), rec
	}
	body, rec := send("O1")
	if rec.TemplateVersion != "email.subject.liquid@2 email.html.liquid@1 email.txt.liquid@1" {
		t.Errorf("template version %q", rec.TemplateVersion)
	}
	if !strings.Contains(body, "新しいお礼の言葉です") || rec.ContentRevision != 2 {
		t.Errorf("sent with revision %d; the new words %v", rec.ContentRevision, strings.Contains(body, "新しいお礼の言葉です"))
	}
	// Rollback: publish version 1 again.
	if rev, err = r.Desk.Publish(ctx, subject, 1, "taro@shop", "back to the old words"); err != nil || rev.N != 3 {
		t.Fatalf("rollback: %+v %v", rev, err)
	}
	r.Clock.Advance(time.Minute)
	a = live.App(ctx)
	body, rec = send("O2")
	if strings.Contains(body, "新しいお礼の言葉です") || rec.ContentRevision != 3 {
		t.Errorf("after the rollback: revision %d, new words still sent: %v", rec.ContentRevision, strings.Contains(body, "新しいお礼の言葉です"))
	}
	audit, err := r.Store.Revisions(ctx)
	if err != nil || len(audit) != 3 || audit[0].By != "taro@shop" || audit[0].Changed != subject || audit[0].Version != 1 ||
		audit[1].By != "hanako@shop" || audit[2].By != "seed" {
		t.Errorf("audit trail: %+v %v", audit, err)
	}
}

// import after export changes nothing; export after import is the same
// bytes; an edited file is one new version, published in one revision.
func TestImportAndExportRoundTrip(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	ctx := context.Background()
	_, set, err := r.Desk.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev, changed, err := r.Desk.Import(ctx, set, "git", ""); err != nil || changed != 0 || rev.N != 1 {
		t.Fatalf("import of the published set: %+v %d %v", rev, changed, err)
	}
	edited := contentset.Set{}
	for p, src := range set {
		edited[p] = src
	}
	edited[subject] = []byte("{{ customer.name }}様へ、いつもありがとう\n")
	rev, changed, err := r.Desk.Import(ctx, edited, "git", "from git")
	if err != nil || changed != 1 || rev.N != 2 || rev.Files[subject] != 2 {
		t.Fatalf("import of one edit: %+v %d %v", rev, changed, err)
	}
	_, again, err := r.Desk.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for p, src := range edited {
		if string(again[p]) != string(src) {
			t.Errorf("%s differs after the round trip", p)
		}
	}
	if len(again) != len(edited) {
		t.Errorf("%d files exported, %d imported", len(again), len(edited))
	}
	edited[subject] = []byte("{{ customer.nmae }}")
	if _, _, err := r.Desk.Import(ctx, edited, "git", ""); err == nil {
		t.Error("a set with a typo was imported")
	}
	if rev := published(t, r); rev.N != 2 {
		t.Errorf("revision %d after a refused import, want 2", rev.N)
	}
}

// A revision this build refuses (published by another build, or by hand)
// does not stop a function from starting: it starts on the embedded
// templates, and loads the next good publish.
func TestAFunctionStartsWhenThePublishedRevisionWillNotLoad(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	ctx := context.Background()
	bad := contentset.Version{Path: subject, Source: "{{ customer.name | shout }}", Author: "elsewhere", At: r.Clock.Now()}
	if err := r.Store.SaveVersion(ctx, bad, 1); err != nil {
		t.Fatal(err)
	}
	live := published(t, r)
	live.Files[subject] = 2
	if err := r.Store.Publish(ctx, contentset.Revision{Files: live.Files, By: "elsewhere", At: r.Clock.Now()}, live.N); err != nil {
		t.Fatal(err)
	}
	l, err := app.NewLive(ctx, r.Deps)
	if err != nil {
		t.Fatalf("a function could not start: %v", err)
	}
	l.Every = time.Minute
	if n := l.App(ctx).ContentRevision; n != 0 {
		t.Errorf("started on revision %d, want the embedded templates (0)", n)
	}
	if _, err := r.Desk.Publish(ctx, subject, 1, "hanako@shop", "back to a good version"); err != nil {
		t.Fatal(err)
	}
	r.Clock.Advance(time.Minute)
	if n := l.App(ctx).ContentRevision; n != 3 {
		t.Errorf("revision %d after a good publish, want 3", n)
	}
}

// A new email is three files, published together; a folder switches from
// Flex to LINE text by publishing the one and taking the other out. Either
// alone would not run, and is refused.
func TestSeveralFilesGoLiveTogether(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	ctx := context.Background()
	// The footer 特定電子メール法 asks of every advertising email.
	const footer = "{{ shop.legal_name }} {{ shop.postal_address }} {{ shop.phone }} {{ shop.support_email }} {{ links.preferences }} {{ links.unsubscribe }}"
	words := map[string]string{
		"surprise/repeater/email.subject.liquid": "{{ customer.name }}様へ、ささやかな贈り物です",
		"surprise/repeater/email.html.liquid":    "<p>{{ customer.name }}様、いつもありがとうございます。</p><p>" + footer + "</p>",
		"surprise/repeater/email.txt.liquid":     "{{ customer.name }}様、いつもありがとうございます。\n" + footer,
	}
	for p, src := range words {
		if _, err := r.Desk.Save(ctx, p, src, 0, "hanako@shop", "new"); err != nil {
			t.Fatal(err)
		}
	}
	var invalid *contentset.Invalid
	if _, err := r.Desk.Publish(ctx, "surprise/repeater/email.subject.liquid", 1, "hanako@shop", ""); !errors.As(err, &invalid) {
		t.Errorf("one file of three went live: %v", err)
	}
	all := map[string]int{}
	for p := range words {
		all[p] = 1
	}
	rev, err := r.Desk.PublishFiles(ctx, all, "hanako@shop", "a surprise of their own")
	if err != nil || rev.Files["surprise/repeater/email.html.liquid"] != 1 {
		t.Fatalf("publish the three: %+v %v", rev, err)
	}
	const text, flex = "birthday/royal/line.txt.liquid", "birthday/royal/line.flex.json.liquid"
	if _, err := r.Desk.Save(ctx, text, "{{ customer.name }}様、お誕生日おめでとうございます", 0, "hanako@shop", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Desk.Publish(ctx, text, 1, "hanako@shop", ""); !errors.As(err, &invalid) {
		t.Errorf("a folder with both LINE files went live: %v", err)
	}
	rev, err = r.Desk.PublishFiles(ctx, map[string]int{text: 1, flex: 0}, "hanako@shop", "plain words")
	if _, still := rev.Files[flex]; err != nil || still || rev.Files[text] != 1 {
		t.Errorf("switch to text: %+v %v", rev, err)
	}
	if _, err := r.Desk.PublishFiles(ctx, map[string]int{flex: 0}, "hanako@shop", ""); !errors.Is(err, publishing.ErrUnknownFile) {
		t.Errorf("took out a file not published: %v", err)
	}
}
