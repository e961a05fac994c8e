package capture

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// s3 answers PutObject as S3 does for path-style requests (PUT
// /bucket/key), so the real SDK client pointed here (S3_ENDPOINT, path
// style) stores the monthly reports: each object lands, whole, at
// outbox/s3/<bucket>/<key>, replaced by a later put as in S3. AWS signs the
// request; the signature is not checked here.
func (s *Server) s3(w http.ResponseWriter, r *http.Request, body []byte) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	local := filepath.FromSlash(key)
	if r.Method != http.MethodPut || bucket == "" || !filepath.IsLocal(local) || strings.Contains(bucket, "..") {
		s3Error(w, http.StatusNotImplemented, "NotImplemented", "the capture server takes path-style PutObject only")
		return
	}
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		s3Error(w, http.StatusNotImplemented, "NotImplemented", "the capture server takes plain bodies, not aws-chunked")
		return
	}
	req := Request{Provider: "s3", Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if s.Outbox != "" {
		req.File = filepath.Join(s.Outbox, "s3", bucket, local)
		if err := os.MkdirAll(filepath.Dir(req.File), 0o755); err != nil {
			s3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		if err := os.WriteFile(req.File, body, 0o644); err != nil {
			s3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
	}
	s.mu.Lock()
	s.seq++
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	sum := md5.Sum(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.WriteHeader(http.StatusOK)
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<Error><Code>" + code + "</Code><Message>" + msg + "</Message></Error>"))
}
