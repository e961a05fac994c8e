// Command loadtest measures POST /webhooks/line under load on this machine:
// the API served as `make serve` serves it (DynamoDB Local, the webhook
// worker in the background), driven by wrk with bounded concurrency on
// loopback, every request a distinct correctly signed LINE text message.
//
//	go run ./infra/loadtest -duration 30s -connections 16
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/shared/adapters/content"
)

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long wrk runs")
	conns := flag.Int("connections", 16, "concurrent connections (bounded load)")
	threads := flag.Int("threads", 2, "wrk threads")
	bodies := flag.Int("bodies", 40000, "distinct signed requests prepared (more than wrk will send)")
	flag.Parse()
	if err := run(*duration, *conns, *threads, *bodies); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, conns, threads, n int) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: apt-get install -y wrk")
	}
	dir, err := os.MkdirTemp("", "daifuku-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	content, err := content.ContentFromEnv()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logFile, err := os.Create(filepath.Join(dir, "daifuku.log"))
	if err != nil {
		return err
	}
	env, err := local.Start(ctx, local.Options{Dir: dir, DynamoDB: os.Getenv("DYNAMODB_ENDPOINT"), Content: content,
		Prefix: fmt.Sprintf("load%d-", time.Now().Unix()), Log: slog.New(slog.NewJSONHandler(logFile, nil))})
	if err != nil {
		return err
	}
	defer env.Close()
	urlc := make(chan string, 1)
	go func() {
		if err := env.Serve(ctx, "127.0.0.1:0", func(u string) { urlc <- u }); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
		}
	}()
	url := <-urlc

	script := filepath.Join(dir, "line.lua")
	if err := writeScript(script, n, threads); err != nil {
		return err
	}
	fmt.Printf("POST %s/webhooks/line: wrk -t%d -c%d -d%s --latency (distinct signed text messages from 500 LINE users)\n",
		url, threads, conns, duration)
	began := time.Now()
	cmd := exec.Command("wrk", fmt.Sprintf("-t%d", threads), fmt.Sprintf("-c%d", conns), "-d"+duration.String(),
		"--latency", "-s", script, url)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	start := time.Now()
	for env.Queue.Batches.Len() > 0 || env.Queue.Len() > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	// Every request was one text message: one feedback item each.
	fbs, err := env.Store.FeedbackSince(ctx, time.Time{})
	if err != nil {
		return err
	}
	total := time.Since(began)
	fmt.Printf("webhook worker (one in-process worker; Lambda runs several) caught up %s after the load ended: "+
		"%d events applied in %s, %.0f events/s\n", time.Since(start).Round(time.Millisecond), len(fbs),
		total.Round(time.Millisecond), float64(len(fbs))/total.Seconds())
	return nil
}

// writeScript writes a wrk script holding n distinct signed bodies; thread t
// of threads sends bodies t, t+threads, … so no two requests repeat.
func writeScript(path string, n, threads int) error {
	var b strings.Builder
	b.WriteString("local bodies = {\n")
	var sigs strings.Builder
	sigs.WriteString("local sigs = {\n")
	at := time.Now().UnixMilli()
	for i := range n {
		body := fmt.Sprintf(`{"destination":"U0","events":[{"type":"message","mode":"active","timestamp":%d,`+
			`"source":{"type":"user","userId":"Uload%027d"},"replyToken":"rt%d","webhookEventId":"01LOAD%020d",`+
			`"deliveryContext":{"isRedelivery":false},"message":{"type":"text","id":"%d","quoteToken":"q","text":"いつもありがとうございます %d"}}]}`,
			at+int64(i), i%500, i, i, i, i)
		m := hmac.New(sha256.New, []byte(local.LocalEnv("LINE_CHANNEL_SECRET")))
		m.Write([]byte(body))
		fmt.Fprintf(&b, "[==[%s]==],\n", body)
		fmt.Fprintf(&sigs, "%q,\n", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	b.WriteString("}\n")
	sigs.WriteString("}\n")
	b.WriteString(sigs.String())
	fmt.Fprintf(&b, `
local threads, counter = %d, 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  i = tid
end
function request()
  local k = (i %% #bodies) + 1
  i = i + threads
  return wrk.format("POST", "/webhooks/line", {["Content-Type"] = "application/json", ["X-Line-Signature"] = sigs[k]}, bodies[k])
end
local non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %%d status, %%d socket\n", summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`, threads)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
