package simulator

import (
	"net/http"
	"time"
)

// Job statuses, as the job API spells them.
const (
	jobRunning = "RUNNING"
	jobSuccess = "SUCCESS"
	jobFail    = "FAIL"
)

// jobTimeFormat is how the job API writes begin_time and end_time.
const jobTimeFormat = "2006-01-02T15:04:05.000Z"

type job struct {
	id, jobType, status   string
	volumeID, volumeType  string
	volumeName            string
	sizeGiB               int32
	errorCode, failReason string
	begin, end            time.Time
}

func (j *job) finish(status string, at time.Time) {
	j.status = status
	j.end = at.UTC()
}

func (j *job) fail(at time.Time, reason string) {
	j.finish(jobFail, at)
	j.errorCode = codeInternal
	j.failReason = reason
}

// newJob records a RUNNING job about disk v.
// TODO: jobs are kept for the simulator's lifetime (the cloud expires them); memory grows by a few
// hundred bytes per disk created or deleted.
func (s *Simulator) newJob(jobType string, v *volume, now time.Time) *job {
	j := &job{
		id:         newHexID(),
		jobType:    jobType,
		status:     jobRunning,
		volumeID:   v.id,
		volumeType: v.volumeType,
		volumeName: v.name,
		sizeGiB:    v.sizeGiB,
		begin:      now.UTC(),
	}
	s.jobs[j.id] = j
	return j
}

// jobEntities is the "entities" object of a job, as the SDK's JobEntities reads it.
type jobEntities struct {
	VolumeID   string `json:"volume_id,omitempty"`
	VolumeType string `json:"volume_type,omitempty"`
	Size       int32  `json:"size,omitempty"`
	Name       string `json:"name,omitempty"`
}

// jobBody is the answer of GET /v1/{project_id}/jobs/{job_id}, as the SDK's ShowJobResponse reads it.
type jobBody struct {
	Status     string      `json:"status"`
	Entities   jobEntities `json:"entities"`
	JobID      string      `json:"job_id"`
	JobType    string      `json:"job_type"`
	BeginTime  string      `json:"begin_time"`
	EndTime    string      `json:"end_time,omitempty"`
	ErrorCode  string      `json:"error_code,omitempty"`
	FailReason string      `json:"fail_reason,omitempty"`
}

func (s *Simulator) showJob(req *apiRequest) reply {
	j := s.jobs[req.r.PathValue("id")]
	if j == nil {
		return notFound("job", req.r.PathValue("id"))
	}
	b := jobBody{
		Status: j.status,
		Entities: jobEntities{
			VolumeID: j.volumeID, VolumeType: j.volumeType, Size: j.sizeGiB, Name: j.volumeName,
		},
		JobID:      j.id,
		JobType:    j.jobType,
		BeginTime:  j.begin.Format(jobTimeFormat),
		ErrorCode:  j.errorCode,
		FailReason: j.failReason,
	}
	if !j.end.IsZero() {
		b.EndTime = j.end.Format(jobTimeFormat)
	}
	return reply{status: http.StatusOK, body: b}
}
