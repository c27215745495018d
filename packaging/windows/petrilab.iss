; Inno Setup script: the PetriLab installer for Windows (PetriLab-<version>-windows-setup.exe).
;
;   iscc /DAppVersion=0.1.0 packaging\windows\petrilab.iss
;
; Packs the one-folder build (dist\PetriLab\, from packaging\build.py) into one
; installer a biologist double-clicks. Per-user by default (no administrator
; rights needed on a lab or workshop PC), per-machine when run as administrator.
; It adds a Start-menu entry, an optional desktop icon, "Open with PetriLab" for
; experiment files, and an uninstaller (Settings → Apps, or the Start menu).
;
; Which files are associated, and why:
;   An experiment is a settings file named *.toml (settings.toml, demo.toml...).
;   Windows associates files by their LAST extension only, so ".petrilab.toml"
;   cannot be registered, and making PetriLab the default program for every
;   .toml file would take over other programs' files (pyproject.toml, Cargo.toml).
;   So PetriLab registers its own file type "PetriLab.Experiment" and adds it to
;   .toml's "Open with" list (OpenWithProgids): right-click → Open with → PetriLab
;   opens the experiment, Windows offers PetriLab the first time a .toml is
;   opened, and nothing else changes. The uninstaller removes these keys.
;   The command is `PetriLab.exe gui "<file>"`, PetriLab's own way to open an experiment.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "PetriLab"
#define AppExe "PetriLab.exe"
#define ProgId "PetriLab.Experiment"

[Setup]
; AppId identifies PetriLab across versions: keep it, so an update replaces the old version
AppId={{6C1B7E52-3B1E-4F4B-9E57-2E5D3A8C6F10}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=PetriLab
AppComments=Deep learning for microscopy images, without writing code
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SourceDir=..\..
OutputDir=dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-setup
SetupIconFile=resources\icons\petrilab.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
; TensorFlow's libraries are large: solid LZMA2 makes the smallest download
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
; the app folder may be in use while a training runs: close PetriLab before updating
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "dist\PetriLab\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Train deep-learning models on microscopy images"
Name: "{group}\{#AppName} demo"; Filename: "{app}\{#AppExe}"; Parameters: "demo"; Comment: "Open PetriLab on the demo images"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; PetriLab's own file type (HKA: the current user's or the machine's classes, as installed)
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "PetriLab experiment"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" gui ""%1"""
; offered in .toml's "Open with" list, never made the default for all .toml files
Root: HKA; Subkey: "Software\Classes\.toml\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".toml"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what the installer put there; experiments and runs in the user's folders are never touched
Type: filesandordirs; Name: "{app}\_internal"
