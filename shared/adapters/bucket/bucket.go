// Package bucket keeps files the owner reads later (the monthly reports): in
// an S3 bucket in AWS, in a folder on a developer's machine.
package bucket

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 stores files as objects of one bucket.
type S3 struct {
	Client *s3.Client
	Bucket string
}

// Put writes a file under key, replacing what was there: a second write of
// the same report leaves one object, not two.
func (b *S3) Put(ctx context.Context, key, contentType string, body []byte) error {
	_, err := b.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", b.Bucket, key, err)
	}
	return nil
}

// Dir stores files in a folder (`make run`: .local), keys as relative paths.
type Dir struct {
	Root string
}

// Put writes a file under key inside Root, whole or not at all (a temporary
// file renamed into place). A key that would leave Root is refused.
func (d *Dir) Put(_ context.Context, key, _ string, body []byte) error {
	if !filepath.IsLocal(filepath.FromSlash(key)) || strings.HasSuffix(key, "/") {
		return fmt.Errorf("put %q: not a file inside %s", key, d.Root)
	}
	if err := os.MkdirAll(d.Root, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	// os.Root keeps every step inside Root, symbolic links included.
	root, err := os.OpenRoot(d.Root)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer root.Close()
	if dir := path.Dir(key); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	tmp := key + ".tmp"
	if err := root.WriteFile(tmp, body, 0o644); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := root.Rename(tmp, key); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}
