package host

import (
	"reflect"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	data := []byte("36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n" +
		"40 25 7:3 / /var/lib/scaleio-volume-plugin/mounts/dv-data1 rw,relatime shared:5 - xfs /dev/scinia rw,nouuid\n" +
		"41 25 0:50 / /mnt/with\\040space rw - tmpfs tmpfs rw\n" +
		"garbage line\n")
	want := []MountEntry{
		{Dev: "98:0", Target: "/mnt1", FsType: "ext3", Source: "/dev/root"},
		{Dev: "7:3", Target: "/var/lib/scaleio-volume-plugin/mounts/dv-data1", FsType: "xfs", Source: "/dev/scinia"},
		{Dev: "0:50", Target: "/mnt/with space", FsType: "tmpfs", Source: "tmpfs"},
	}
	got := ParseMountinfo(data)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
