; Inno Setup script: a per-machine Touchpoint installer for Windows (64-bit).
;
; Built by the Windows job of .github/workflows/release.yml, after PyInstaller made
; packaging\dist\touchpoint from packaging\touchpoint.spec (the same spec as the .deb):
;
;   iscc /DAppVersion=0.1.0 packaging\windows\touchpoint.iss
;     -> packaging\dist\touchpoint-0.1.0-setup.exe
;
; Silent install for IT (no questions, no message boxes; exit code 0 on success):
;
;   touchpoint-0.1.0-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /LOG="C:\Windows\Temp\touchpoint-setup.log"
;   add /TASKS="!addtopath" to leave PATH alone, /DIR="D:\Apps\Touchpoint" for another folder
;   uninstall: "C:\Program Files\Touchpoint\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES /NORESTART
;
; Same layout as on Linux: the programs touchpoint.exe (command line; the window with no
; command) and touchpoint-hub.exe, plus touchpoint-window.exe (the window without a
; console) for the Start menu. Data stays where platformdirs puts it, per user:
; %LOCALAPPDATA%\Touchpoint\touchpoint (database, backups), settings beside it, logs in
; ...\touchpoint\Logs. An upgrade installs over the old folder and never touches those; the
; app backs up and migrates the database at its next start. Uninstalling leaves them too.
;
; Machine policy: IT puts policy.toml in C:\ProgramData\Touchpoint\touchpoint\ (platformdirs'
; site config folder; TOUCHPOINT_POLICY_FILE may point elsewhere). The installer creates
; that folder, readable by all users, and never writes or removes a policy file itself.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Touchpoint"
#define Dist "..\dist\touchpoint"

[Setup]
; Never change AppId: upgrades find the installed copy through it.
AppId={{5E0B6F2C-7A41-4C8E-9B1D-3F6A2C9D8E71}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Touchpoint
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per machine: installed once for every user, by an administrator or a deployment tool.
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir=..\dist
OutputBaseFilename=touchpoint-{#AppVersion}-setup
SetupIconFile=..\build\touchpoint.ico
UninstallDisplayIcon={app}\touchpoint-window.exe
Compression=lzma2/ultra64
SolidCompression=yes
WizardStyle=modern
; Close running copies before files are replaced, and do not restart them afterwards
; (they reopen the migrated database at the user's next start).
CloseApplications=force
RestartApplications=no
ChangesEnvironment=yes

[Tasks]
Name: "addtopath"; Description: "Add touchpoint and touchpoint-hub to PATH for all users"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; Flags: unchecked

[Files]
Source: "{#Dist}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the whole bundle: no library of the old version is left behind.
Type: filesandordirs; Name: "{app}\_internal"

[Dirs]
Name: "{commonappdata}\Touchpoint\touchpoint"; Permissions: users-readexec; Flags: uninsneveruninstall

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\touchpoint-window.exe"; AppUserModelID: "Touchpoint.Touchpoint"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\touchpoint-window.exe"; Tasks: desktopicon

[Registry]
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; \
    ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
; Interactive installs offer to start it; silent ones never do.
Filename: "{app}\touchpoint-window.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; \
    Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only the program folder. Users' databases, settings and logs, and the policy, stay.
Type: dirifempty; Name: "{app}"

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Paths: string;
begin
  if not RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
    'Path', Paths) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;

procedure RemovePath(Dir: string);
var
  Paths: string;
  P: Integer;
begin
  if not RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
    'Path', Paths) then
    exit;
  P := Pos(';' + Uppercase(Dir), Uppercase(Paths));
  if P > 0 then
  begin
    Delete(Paths, P, Length(Dir) + 1);
    RegWriteExpandStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
      'Path', Paths);
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemovePath(ExpandConstant('{app}'));
end;
