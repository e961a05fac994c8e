package bucket_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/daifuku/daifuku/shared/adapters/bucket"
)

// object is what the stand-in stored.
type object struct {
	body        []byte
	contentType string
}

// s3StandIn answers PutObject as S3 does for a path-style request
// (PUT /bucket/key): it keeps the body and its content type, and refuses
// unsigned requests and other buckets as S3 would.
type s3StandIn struct {
	bucket  string
	mu      sync.Mutex
	objects map[string]object
	puts    int
}

func (s *s3StandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
		return
	}
	b, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPut || key == "" || r.URL.RawQuery != "" && r.URL.Query().Get("x-id") != "PutObject" {
		http.Error(w, "<Error><Code>NotImplemented</Code></Error>", http.StatusNotImplemented)
		return
	}
	if b != s.bucket {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>")
		return
	}
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		http.Error(w, "<Error><Code>NotImplemented</Code><Message>this stand-in takes plain bodies</Message></Error>", http.StatusNotImplemented)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.objects[key] = object{body: body, contentType: r.Header.Get("Content-Type")}
	s.puts++
	s.mu.Unlock()
	sum := md5.Sum(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.WriteHeader(http.StatusOK)
}

func newS3(t *testing.T, bucketName string) (*bucket.S3, *s3StandIn) {
	t.Helper()
	stand := &s3StandIn{bucket: "daifuku-reports", objects: map[string]object{}}
	srv := httptest.NewServer(stand)
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, HTTPClient: srv.Client(),
	})
	return &bucket.S3{Client: client, Bucket: bucketName}, stand
}

func TestS3PutStoresBytesAndContentType(t *testing.T) {
	b, stand := newS3(t, "daifuku-reports")
	ctx := context.Background()
	page := []byte("<!doctype html><title>2026年11月</title><p>効果レポート</p>")
	js := []byte(`{"month":"2026-11","rows":[]}` + "\n")
	if err := b.Put(ctx, "reports/2026-11.html", "text/html; charset=utf-8", page); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "reports/2026-11.json", "application/json", js); err != nil {
		t.Fatal(err)
	}
	// A redelivered run writes the same keys again: still two objects.
	if err := b.Put(ctx, "reports/2026-11.json", "application/json", js); err != nil {
		t.Fatal(err)
	}
	want := map[string]object{
		"reports/2026-11.html": {page, "text/html; charset=utf-8"},
		"reports/2026-11.json": {js, "application/json"},
	}
	if len(stand.objects) != len(want) || stand.puts != 3 {
		t.Fatalf("%d objects after %d puts, want 2 after 3", len(stand.objects), stand.puts)
	}
	for key, w := range want {
		got := stand.objects[key]
		if string(got.body) != string(w.body) || got.contentType != w.contentType {
			t.Errorf("%s = %q (%s), want %q (%s)", key, got.body, got.contentType, w.body, w.contentType)
		}
	}
}

func TestS3PutSaysWhichObjectFailed(t *testing.T) {
	b, _ := newS3(t, "no-such-bucket")
	err := b.Put(context.Background(), "reports/2026-11.html", "text/html", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket/reports/2026-11.html") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("err = %v, want the object and S3's code", err)
	}
}

func TestDirPutWritesInsideItsFolder(t *testing.T) {
	root := filepath.Join(t.TempDir(), ".local")
	d := &bucket.Dir{Root: root}
	ctx := context.Background()
	for _, body := range []string{"first", "second"} {
		if err := d.Put(ctx, "reports/2026-11.html", "text/html", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(root, "reports", "2026-11.html"))
	if err != nil || string(got) != "second" {
		t.Errorf("file = %q, %v; want the second write", got, err)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "reports", "*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for _, key := range []string{"../escape.html", "/etc/passwd", "reports/../../x", "", "reports/"} {
		if err := d.Put(ctx, key, "text/plain", []byte("x")); err == nil {
			t.Errorf("key %q was written", key)
		}
	}
}
