package local_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/templates"
)

// serve starts `make serve`'s server on a free port with short timeouts.
func serve(t *testing.T) string {
	t.Helper()
	c, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	env, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), DynamoDB: dynamolocal.TestEndpoint(t),
		Prefix: fmt.Sprintf("serve%d-", time.Now().UnixNano()), Content: c, Clock: func() time.Time { return morning }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	env.Timeouts = local.Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	url := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- env.Serve(ctx, "127.0.0.1:0", func(u string) { url <- u }) }()
	t.Cleanup(func() { cancel(); <-done })
	return strings.TrimPrefix(<-url, "http://")
}

// closedBy reports whether the server closed the connection before the deadline.
func closedBy(conn net.Conn, deadline time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(deadline))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// A body trickling in a byte at a time, and a keep-alive connection left
// idle, are closed by the server: neither holds it.
func TestServeClosesSlowAndIdleConnections(t *testing.T) {
	addr := serve(t)

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprint(slow, "POST /orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer local-orders-token\r\nContent-Length: 1000\r\n\r\n{")
	go func() {
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			if _, err := slow.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	if !closedBy(slow, 10*time.Second) {
		t.Error("a body sent a byte at a time kept its connection open")
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(idle, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	if !closedBy(idle, 10*time.Second) {
		t.Error("an idle keep-alive connection was kept open")
	}
}
