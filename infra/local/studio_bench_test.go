package local_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/templates"
)

// studioEnv starts make serve's server on the published content.
func studioEnv(b *testing.B) (*local.Env, string) {
	b.Helper()
	env, err := local.Start(context.Background(), local.Options{Dir: b.TempDir(), DynamoDB: dynamolocal.TestEndpoint(b),
		Prefix: fmt.Sprintf("studiob%d-", time.Now().UnixNano()), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(env.Close)
	ctx, stop := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- env.Serve(ctx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	b.Cleanup(func() { stop(); <-done })
	return env, <-urls
}

// percentiles reports p50 and p99 of the latencies as metrics.
func percentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkStudioPreview is the editor's round trip as a marketer types:
// POST /studio/api/preview of the royal thank-you email (check the file,
// load the set with it, render for the sample royal customer) through
// make serve's server, over loopback HTTP.
func BenchmarkStudioPreview(b *testing.B) {
	env, base := studioEnv(b)
	v, err := env.Desk.File(context.Background(), "thank-you/royal/email.html.liquid", 0)
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		// A new source each time, as typing makes: the edited file is parsed afresh.
		src := strings.Replace(v.Source, "</body>", fmt.Sprintf("<!-- %d --></body>", i), 1)
		body := fmt.Sprintf(`{"path":"thank-you/royal/email.html.liquid","source":%q,"rank":"royal"}`, src)
		req, _ := http.NewRequest(http.MethodPost, base+"/studio/api/preview", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+local.DefaultStudioToken)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(start))
		if res.StatusCode != http.StatusOK || !strings.Contains(string(out), `"html"`) {
			b.Fatalf("%d %s", res.StatusCode, out)
		}
	}
	percentiles(b, lat)
}

// BenchmarkColdStart is the content's share of a function's cold start:
// from the binary (the embedded templates), and from the content table
// (the published revision: one item, the files in two batch reads, then
// the same parse and check).
func BenchmarkColdStart(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		for b.Loop() {
			render.ForgetParsed() // a new process has parsed nothing
			if _, err := content.LoadContent(templates.FS); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("published", func(b *testing.B) {
		env, _ := studioEnv(b)
		for b.Loop() {
			render.ForgetParsed()
			if _, rev, err := app.Published(context.Background(), env.Store); err != nil || rev.N != 1 {
				b.Fatal(rev, err)
			}
		}
	})
}

// BenchmarkPublishToSender is how long a publish takes to reach a sender
// once it looks: the publish itself (checking the whole set), then the
// sender's next look at the revision and its reload. In AWS the look comes
// at most app.DefaultCheckEvery later.
func BenchmarkPublishToSender(b *testing.B) {
	env, _ := studioEnv(b)
	ctx := context.Background()
	live := env.Live
	live.Every = time.Nanosecond
	const file = "thank-you/royal/email.subject.liquid"
	var publish, reach []time.Duration
	for i := 0; b.Loop(); i++ {
		latest, err := env.Store.LatestVersions(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n, err := env.Desk.Save(ctx, file, fmt.Sprintf("{{ customer.name }}様、ありがとうございます（%d）", i), latest[file], "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rev, err := env.Desk.Publish(ctx, file, n, "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		published := time.Now()
		if a := live.App(ctx); a.ContentRevision != rev.N {
			b.Fatalf("revision %d, want %d", a.ContentRevision, rev.N)
		}
		publish, reach = append(publish, published.Sub(start)), append(reach, time.Since(published))
	}
	slices.Sort(publish)
	slices.Sort(reach)
	b.ReportMetric(float64(publish[len(publish)/2].Microseconds())/1000, "publish-p50-ms")
	b.ReportMetric(float64(reach[len(reach)/2].Microseconds())/1000, "reload-p50-ms")
	b.ReportMetric(float64(reach[len(reach)*99/100].Microseconds())/1000, "reload-p99-ms")
}
