; Inno Setup 6.3+ script: a Windows installer for the one-folder bundle that installer/build.py makes.
;
;   python installer\build.py
;   iscc /DAppVersion=0.1.0 installer\windows\ukan-studio.iss
;
; Installs per user (no administrator rights) into %LOCALAPPDATA%\Programs\UKAN Studio by default;
; the first page offers "install for all users" instead, which asks for elevation. Adds a Start
; menu shortcut, an optional desktop shortcut and an uninstaller (Settings > Apps). Output:
; dist\ukan-studio-<version>-windows-x64-setup.exe. Paths below are relative to this file.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\ukan-studio"
#endif
#define AppName "UKAN Studio"
#define AppExe "ukan-studio.exe"

[Setup]
; AppId identifies the app for upgrades and uninstall: never change it.
AppId={{79DEE7EF-0D96-44E3-BBD8-59722BCDF68D}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=UKAN Studio
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=ukan-studio-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\ukan-studio.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

