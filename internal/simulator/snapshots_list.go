package simulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Paging limits of GET /v2/{project_id}/cloudsnapshots/detail.
const (
	maxListLimit     = 1000
	defaultListLimit = maxListLimit
)

type snapshotLink struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type listSnapshotsBody struct {
	Count     int            `json:"count"`
	Snapshots []snapshotBody `json:"snapshots"`
	Links     []snapshotLink `json:"snapshots_links,omitempty"`
}

// snapshotFilter holds the list filters; an empty field matches everything and ids match any.
type snapshotFilter struct {
	name, status, volumeID, zone string
	ids                          []string
}

func (f snapshotFilter) matches(sn *snapshot) bool {
	return (f.name == "" || sn.name == f.name) &&
		(f.status == "" || sn.status == f.status) &&
		(f.volumeID == "" || sn.volumeID == f.volumeID) &&
		(f.zone == "" || sn.zone == f.zone) &&
		(len(f.ids) == 0 || slices.Contains(f.ids, sn.id))
}

// listSnapshots pages through the matching snapshots in creation order; count is the number of
// matches regardless of paging, as the cloud reports it.
func (s *Simulator) listSnapshots(req *apiRequest) reply {
	q := req.r.URL.Query()
	limit, rep, ok := intParam(q, "limit", defaultListLimit)
	if !ok {
		return rep
	}
	if limit > maxListLimit {
		return errorReply(http.StatusBadRequest, codeLimitTooLarge,
			"limit %d is larger than the maximum %d", limit, maxListLimit)
	}
	if limit < 1 {
		return badRequest("limit %d must be at least 1", limit)
	}
	offset, rep, ok := intParam(q, "offset", 0)
	if !ok {
		return rep
	}
	if offset < 0 {
		return badRequest("offset %d must not be negative", offset)
	}
	f := snapshotFilter{
		name: q.Get("name"), status: q.Get("status"), volumeID: q.Get("volume_id"),
		zone: q.Get("availability_zone"), ids: q["id"],
	}

	out := listSnapshotsBody{Snapshots: []snapshotBody{}}
	for _, sn := range s.ordered {
		if !f.matches(sn) {
			continue
		}
		if out.Count >= offset && out.Count < offset+limit {
			out.Snapshots = append(out.Snapshots, s.snapshotBody(sn))
		}
		out.Count++
	}
	if offset+limit < out.Count {
		next := req.r.URL.Query()
		next.Set("offset", strconv.Itoa(offset+limit))
		next.Set("limit", strconv.Itoa(limit))
		u := url.URL{Scheme: "http", Host: req.r.Host, Path: req.r.URL.Path, RawQuery: next.Encode()}
		out.Links = []snapshotLink{{Href: u.String(), Rel: "next"}}
	}
	return reply{status: http.StatusOK, body: out}
}

// intParam reads an integer query parameter, or def when it is absent.
func intParam(q url.Values, name string, def int) (int, reply, bool) {
	v := q.Get(name)
	if v == "" {
		return def, reply{}, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("%s %q is not an integer", name, v), false
	}
	return n, reply{}, true
}
