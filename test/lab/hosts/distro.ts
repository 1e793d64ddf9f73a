// What makes a Debian host look like the EL distribution being emulated: os-release, release
// files, yum variables, and the vendor repository files (disabled, so nothing tries the
// internet; the installer's vault rewrite still has a real file to work on).
export type LabOs = "centos7" | "rocky8";

export interface DistroFile {
  path: string;
  content: string;
  /** Symlink target instead of content. */
  link?: string;
}

const CENTOS7_OS_RELEASE = `NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"

CENTOS_MANTISBT_PROJECT="CentOS-7"
CENTOS_MANTISBT_PROJECT_VERSION="7"
REDHAT_SUPPORT_PRODUCT="centos"
REDHAT_SUPPORT_PRODUCT_VERSION="7"

`;

// As CentOS 7.9 images ship it, except enabled=0 on every repository (the lab has no internet).
const CENTOS7_BASE_REPO = `# CentOS-Base.repo
#
# The mirror system uses the connecting IP address of the client and the
# update status of each mirror to pick mirrors that are updated to and
# geographically close to the client.  You should use this for CentOS updates
# unless you are manually picking other mirrors.
#
# If the mirrorlist= does not work for you, as a fall back you can try the 
# remarked out baseurl= line instead.
#
#

[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
enabled=0

#released updates 
[updates]
name=CentOS-$releasever - Updates
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
enabled=0

#additional packages that may be useful
[extras]
name=CentOS-$releasever - Extras
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=extras&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/extras/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
enabled=0

#additional packages that extend functionality of existing packages
[centosplus]
name=CentOS-$releasever - Plus
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=centosplus&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/centosplus/$basearch/
gpgcheck=1
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

`;

const ROCKY8_OS_RELEASE = `NAME="Rocky Linux"
VERSION="8.10 (Green Obsidian)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="8.10"
PLATFORM_ID="platform:el8"
PRETTY_NAME="Rocky Linux 8.10 (Green Obsidian)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:8:GA"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2029-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-8"
ROCKY_SUPPORT_PRODUCT_VERSION="8.10"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="8.10"
`;

function rockyRepo(id: string, repo: string): string {
  return `[${id.toLowerCase()}]
name=Rocky Linux $releasever - ${id}
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=${repo}-$releasever$rltype
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/${id}/$basearch/os/
gpgcheck=1
enabled=0
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-rockyofficial
`;
}

export function distroFiles(os: LabOs): DistroFile[] {
  if (os === "centos7") {
    return [
      { path: "etc/os-release", content: CENTOS7_OS_RELEASE },
      { path: "etc/centos-release", content: "CentOS Linux release 7.9.2009 (Core)\n" },
      { path: "etc/redhat-release", content: "", link: "centos-release" },
      { path: "etc/system-release", content: "", link: "centos-release" },
      { path: "etc/yum.repos.d/CentOS-Base.repo", content: CENTOS7_BASE_REPO },
      { path: "etc/yum/vars/infra", content: "genclo\n" },
      { path: "etc/dnf/vars/infra", content: "genclo\n" },
      { path: "etc/dnf/vars/releasever", content: "7\n" },
    ];
  }
  return [
    { path: "etc/os-release", content: ROCKY8_OS_RELEASE },
    { path: "etc/rocky-release", content: "Rocky Linux release 8.10 (Green Obsidian)\n" },
    { path: "etc/redhat-release", content: "", link: "rocky-release" },
    { path: "etc/system-release", content: "", link: "rocky-release" },
    { path: "etc/yum.repos.d/Rocky-BaseOS.repo", content: rockyRepo("BaseOS", "BaseOS") },
    {
      path: "etc/yum.repos.d/Rocky-AppStream.repo",
      content: rockyRepo("AppStream", "AppStream"),
    },
    { path: "etc/dnf/vars/contentdir", content: "pub/rocky\n" },
    { path: "etc/dnf/vars/rltype", content: "\n" },
    { path: "etc/dnf/vars/releasever", content: "8\n" },
  ];
}
