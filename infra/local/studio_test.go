package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/samtemplate"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// browser finds Chromium; the studio's tests need a real one (.ci/run
// installs Debian's chromium).
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine: install Debian's chromium package (.ci/run does) to run the studio's browser tests")
	return ""
}

// The walk a marketer takes: open the studio and see the matrix; open the
// royal thank-you email, type an unknown filter and see the error at its
// line; fix it and see the sample customer's name in the preview; save and
// publish, and see version 2 listed; place an order for a royal customer
// and see the new words sent; roll back, and see the old words sent again.
func TestStudioWalkthrough(t *testing.T) {
	exe := browser(t)
	clock := &testrig.Clock{}
	clock.Set(morning)
	env, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), DynamoDB: dynamolocal.TestEndpoint(t),
		Prefix: fmt.Sprintf("studio%d-", time.Now().UnixNano()), Clock: clock.Now, Visibility: -1,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	env.Live.Every = time.Minute
	srvCtx, stop := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- env.Serve(srvCtx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	t.Cleanup(func() { stop(); <-done })
	base := <-urls

	royal := &customer.Customer{ID: "R1", Name: "花子", Email: "r1@example.jp", Rank: "royal", Consent: customer.Consent{Email: true},
		Purchases: customer.Purchases{TotalSpend: 150000, Count: 9, First: morning.AddDate(-2, 0, 0), Last: morning.AddDate(0, -1, 0)}}
	if err := env.Store.PutCustomers(context.Background(), []*customer.Customer{royal}); err != nil {
		t.Fatal(err)
	}
	order := func(id string) string {
		t.Helper()
		body := fmt.Sprintf(`{"order_id":%q,"customer_id":"R1","total":12000,"ordered_at":%q,"customer":{"email":"r1@example.jp"}}`,
			id, clock.Now().Format(time.RFC3339))
		req, _ := http.NewRequest(http.MethodPost, base+"/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+local.LocalEnv("ORDERS_API_TOKEN"))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("order %s: %v %v", id, res, err)
		}
		res.Body.Close()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, r := range env.Capture.Requests("email") {
				if strings.Contains(string(r.Body), "r1@example.jp") && strings.Contains(string(r.Body), id) {
					return string(r.Body)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no thank-you for %s reached the capture server", id)
		return ""
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1600, 2200))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, on a context with no timeout
		t.Fatal(err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	shots := filepath.Join(repoRoot(t), ".local")
	_ = os.MkdirAll(shots, 0o755)
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			// What the page showed, for whoever reads the failure.
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
			t.Fatalf("%s: %v\npage:\n%s", step, err, body)
		}
	}
	shot := func(name string) {
		t.Helper()
		png := run(t, ctx, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setSource := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("source"); s.value = ` + js +
			`; s.dispatchEvent(new Event("input")) })()`)
	}
	const file = "thank-you/royal/email.html.liquid"
	const cellLink = `td[data-cell="thank-you/royal/email"] a`

	// 1. Sign in (the URL make serve prints) and see the matrix.
	do("step 1, the matrix", chromedp.Navigate(local.StudioURL(base)), chromedp.WaitVisible(cellLink+`.own`))
	// 2. Open the royal thank-you email; type an unknown filter on a new line.
	do("step 2, open", chromedp.Click(cellLink), chromedp.WaitVisible(`#source`),
		chromedp.Poll[chromedp.Void](`document.getElementById("source").value.length > 0`),
		setSource(`s.value.replace("</body>", "{{ customer.name | shout }}\n</body>")`),
		chromedp.Poll[chromedp.Void](`document.querySelector("#errors li") !== null`))
	type shown struct{ Text, Line, Bad string }
	got := run(t, ctx, chromedp.Evaluate[shown](`(() => { const li = document.querySelector("#errors li"), bad = document.querySelector("#gutter .bad");
		return {Text: li.textContent, Line: li.dataset.line, Bad: bad ? bad.textContent : ""} })()`))
	shot("studio-editor-error.png")
	if !strings.Contains(got.Text, "shout") || got.Line == "" || got.Line != got.Bad {
		t.Errorf("step 2: error %q at line %q, gutter marks %q", got.Text, got.Line, got.Bad)
	}
	// 3. Fix it: the preview shows the sample customer's name.
	do("step 3, the preview",
		setSource(`s.value.replace("{{ customer.name | shout }}", "<p>{{ customer.name }}様、新しいお礼の言葉です。</p>")`),
		chromedp.Poll[chromedp.Void](`document.getElementById("html").srcdoc.includes("新しいお礼の言葉です")`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#errors li").length === 0`),
		chromedp.Poll[chromedp.Void](`document.getElementById("html").dataset.loaded === "1"`))
	srcdoc := run(t, ctx, chromedp.Evaluate[string](`document.getElementById("html").srcdoc`))
	shot("studio-preview.png")
	if !strings.Contains(srcdoc, "見本") {
		t.Errorf("step 3: the preview does not show the sample customer's name")
	}
	// 4. Save and publish: version 2 is listed, and published.
	do("step 4, save and publish", chromedp.SendKeys(`#comment`, "新しいお礼の言葉"), chromedp.Click(`#save`),
		chromedp.WaitVisible(`#versions tr[data-version="2"]`), chromedp.Click(`#publish`),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.includes("第2版")`))
	// 5. A royal customer's order: the sender has the new words within its check interval.
	clock.Advance(time.Minute)
	if body := order("O-STUDIO-1"); !strings.Contains(body, "新しいお礼の言葉です") {
		t.Errorf("step 5: the thank-you sent after the publish lacks the new words")
	}
	// 6. Roll back to version 1: the old words are sent again.
	do("step 6, rollback", chromedp.Click(`#versions tr[data-version="1"] button`),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.includes("第3版")`))
	clock.Advance(time.Minute)
	if body := order("O-STUDIO-2"); strings.Contains(body, "新しいお礼の言葉です") {
		t.Errorf("step 6: the thank-you sent after the rollback still has the new words")
	}
	rev, err := env.Store.Published(context.Background())
	if err != nil || rev.N != 3 || rev.Files[file] != 1 || !strings.Contains(rev.By, "studio page") {
		t.Errorf("published after the rollback: %+v %v", rev, err)
	}
	// 7. The owner's report, behind the studio's session: this month's two
	// thank-yous, sent, with nothing to compare them with.
	if res, err := http.Get(base + "/studio/report"); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("step 7: the report without a session: %v %v", res, err)
	}
	do("step 7, the report", chromedp.Navigate(base+"/studio/report"))
	type page struct{ Title, Rows string }
	p := run(t, ctx, chromedp.Evaluate[page](`({Title: document.querySelector("h1").textContent,
		Rows: Array.from(document.querySelectorAll("tr")).map(tr => tr.innerText).join("\n")})`))
	shot("studio-report.png")
	if !strings.Contains(p.Title, "効果レポート") || !strings.Contains(p.Rows, "サンクス") {
		t.Errorf("step 7: the report page shows %+v", p)
	}
	// 8. The monthly summary's link: the studio page opens the month's
	// report through its API, in the same tab.
	month := report.Month(clock.Now())
	do("step 8, the summary's link", chromedp.Navigate(local.StudioURL(base)), chromedp.WaitVisible(cellLink),
		chromedp.Navigate(base+"/studio?report="+month))
	title := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(title, "効果レポート"); {
		// The page goes on to the report by itself: ask until it has.
		title, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`location.href.startsWith("blob:") ? document.querySelector("h1").textContent : ""`))
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(title, "効果レポート") || !strings.Contains(title, month) {
		t.Errorf("step 8: the link opened %q", title)
	}
}

// run runs one browser action and returns its value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func repoRoot(t *testing.T) string {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
