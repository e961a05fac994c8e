// Package publishing is how the marketer's words go live without a deploy:
// each save is a new immutable version of one file, refused when it was
// based on a version that is no longer the latest; a publish puts one
// version of one file live only when the whole set, with it, would run;
// rollback is publishing an older version. Every publish is kept, with who
// did it and when.
package publishing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger keeps the versions and the published revision.
type Ledger interface {
	SaveVersion(ctx context.Context, v contentset.Version, base int) error
	LatestVersions(ctx context.Context) (map[string]int, error)
	Version(ctx context.Context, path string, n int) (*contentset.Version, error)
	Versions(ctx context.Context, path string) ([]*contentset.Version, error)
	Published(ctx context.Context) (contentset.Revision, error)
	Revisions(ctx context.Context) ([]*contentset.Revision, error)
	Publish(ctx context.Context, rev contentset.Revision, prev int) error
	Files(ctx context.Context, files map[string]int) (contentset.Set, error)
}

// Checks validate content as it would run.
type Checks interface {
	// File checks one file alone (Liquid syntax, YAML syntax).
	File(path string, src []byte) []contentset.Problem
	// Set checks a whole set: every template renders for every rank, Flex
	// passes LINE's checks, plans name templates that exist, rank rules parse.
	Set(set contentset.Set) []contentset.Problem
}

// Desk saves and publishes.
type Desk struct {
	flow.Env
	Ledger Ledger
	Checks Checks
}

// Save stores source as the next version of path after base (0 for a new
// file). It refuses a bad path or source, or a file that does not parse,
// with *contentset.Invalid, and a stale base with *contentset.StaleError.
func (d *Desk) Save(ctx context.Context, path, source string, base int, author, comment string) (int, error) {
	if err := contentset.CheckPath(path); err != nil {
		return 0, &contentset.Invalid{Problems: []contentset.Problem{{File: path, Message: err.Error()}}}
	}
	if err := contentset.CheckSource(path, []byte(source)); err != nil {
		return 0, &contentset.Invalid{Problems: []contentset.Problem{{File: path, Message: err.Error()}}}
	}
	if ps := d.Checks.File(path, []byte(source)); len(ps) > 0 {
		return 0, &contentset.Invalid{Problems: ps}
	}
	v := contentset.Version{Path: path, Source: source, Author: author, Comment: comment, At: d.Now()}
	if err := d.Ledger.SaveVersion(ctx, v, base); err != nil {
		return 0, err
	}
	d.Logger().InfoContext(ctx, "content saved", "path", path, "version", base+1)
	return base + 1, nil
}

// Live is the published set, and its revision.
func (d *Desk) Live(ctx context.Context) (contentset.Revision, contentset.Set, error) {
	rev, err := d.Ledger.Published(ctx)
	if err != nil {
		return rev, nil, err
	}
	set, err := d.Ledger.Files(ctx, rev.Files)
	return rev, set, err
}

// With is the published set with one file replaced by source: what a
// preview or a publish checks.
func (d *Desk) With(ctx context.Context, path string, source []byte) (contentset.Set, error) {
	_, set, err := d.Live(ctx)
	if err != nil {
		return nil, err
	}
	set[path] = source
	return set, nil
}

// Publish puts version n of path live, with every other file as published,
// once the whole set passes its checks (*contentset.Invalid otherwise,
// with every problem). Publishing an older version is a rollback.
func (d *Desk) Publish(ctx context.Context, path string, n int, by, comment string) (contentset.Revision, error) {
	if n < 1 {
		return contentset.Revision{}, fmt.Errorf("%s version %d: %w", path, n, contentset.ErrNoVersion)
	}
	return d.PublishFiles(ctx, map[string]int{path: n}, by, comment)
}

// PublishFiles puts several versions live at once (a new email's three
// files, say); version 0 takes a file out of the published set (switching
// a folder from LINE text to Flex). The whole set, so changed, must pass
// its checks; then it goes live in one revision.
func (d *Desk) PublishFiles(ctx context.Context, changes map[string]int, by, comment string) (contentset.Revision, error) {
	if len(changes) == 0 {
		return contentset.Revision{}, &contentset.Invalid{Problems: []contentset.Problem{{Message: "nothing to publish"}}}
	}
	live, set, err := d.Live(ctx)
	if err != nil {
		return contentset.Revision{}, err
	}
	files := maps.Clone(live.Files)
	paths := slices.Sorted(maps.Keys(changes))
	for _, p := range paths {
		if err := contentset.CheckPath(p); err != nil {
			return contentset.Revision{}, &contentset.Invalid{Problems: []contentset.Problem{{File: p, Message: err.Error()}}}
		}
		n := changes[p]
		if n == 0 {
			if _, ok := files[p]; !ok {
				return contentset.Revision{}, fmt.Errorf("%s: not published: %w", p, ErrUnknownFile)
			}
			delete(files, p)
			delete(set, p)
			continue
		}
		v, err := d.Ledger.Version(ctx, p, n)
		if err != nil {
			return contentset.Revision{}, err
		}
		files[p], set[p] = n, []byte(v.Source)
	}
	if ps := d.Checks.Set(set); len(ps) > 0 {
		return contentset.Revision{}, &contentset.Invalid{Problems: ps}
	}
	rev := contentset.Revision{Files: files, By: by, Comment: comment, Changed: strings.Join(paths, ", ")}
	if len(paths) == 1 {
		rev.Version = changes[paths[0]]
	}
	return d.publish(ctx, live.N, rev)
}

func (d *Desk) publish(ctx context.Context, prev int, rev contentset.Revision) (contentset.Revision, error) {
	rev.At = d.Now()
	if err := d.Ledger.Publish(ctx, rev, prev); err != nil {
		return contentset.Revision{}, err
	}
	rev.N = prev + 1
	d.Logger().InfoContext(ctx, "content published", "revision", rev.N, "changed", rev.Changed, "version", rev.Version)
	return rev, nil
}

// Import makes set the published content, whole (a folder under git, say):
// each file that differs from the published one becomes a new version, a
// file the set lacks leaves it, and everything goes live in one revision.
// A set that fails its checks changes nothing. It returns the revision
// (the published one, unchanged, when nothing differs) and how many files
// changed.
func (d *Desk) Import(ctx context.Context, set contentset.Set, by, comment string) (contentset.Revision, int, error) {
	for _, p := range set.Paths() {
		if err := contentset.CheckSource(p, set[p]); err != nil {
			return contentset.Revision{}, 0, &contentset.Invalid{Problems: []contentset.Problem{{File: p, Message: err.Error()}}}
		}
	}
	if ps := d.Checks.Set(set); len(ps) > 0 {
		return contentset.Revision{}, 0, &contentset.Invalid{Problems: ps}
	}
	live, current, err := d.Live(ctx)
	if err != nil {
		return contentset.Revision{}, 0, err
	}
	latest, err := d.Ledger.LatestVersions(ctx)
	if err != nil {
		return contentset.Revision{}, 0, err
	}
	files := map[string]int{}
	var changed []string
	for _, p := range set.Paths() {
		if src, ok := current[p]; ok && bytes.Equal(src, set[p]) {
			files[p] = live.Files[p]
			continue
		}
		n, err := d.Save(ctx, p, string(set[p]), latest[p], by, comment)
		if err != nil {
			return contentset.Revision{}, 0, err
		}
		files[p], changed = n, append(changed, p)
	}
	for p := range live.Files {
		if _, ok := set[p]; !ok {
			changed = append(changed, p)
		}
	}
	if len(changed) == 0 {
		return live, 0, nil
	}
	rev := contentset.Revision{Files: files, By: by, Comment: comment, Changed: strings.Join(changed, ", ")}
	if len(changed) == 1 {
		rev.Version = files[changed[0]]
	}
	rev, err = d.publish(ctx, live.N, rev)
	return rev, len(changed), err
}

// ErrUnknownFile means a path has no version at all.
var ErrUnknownFile = errors.New("no such file")

// File reads version n of path, or its latest when n is 0.
func (d *Desk) File(ctx context.Context, path string, n int) (*contentset.Version, error) {
	if err := contentset.CheckPath(path); err != nil {
		return nil, &contentset.Invalid{Problems: []contentset.Problem{{File: path, Message: err.Error()}}}
	}
	if n == 0 {
		latest, err := d.Ledger.LatestVersions(ctx)
		if err != nil {
			return nil, err
		}
		if n = latest[path]; n == 0 {
			return nil, fmt.Errorf("%s: %w", path, ErrUnknownFile)
		}
	}
	return d.Ledger.Version(ctx, path, n)
}
