//! People for the curriculum tests (DOMAIN.md area C/D), on top of [`seed_world`]: a curriculum
//! write needs a Person behind the token (authors, reviewers and approvers are people).
//!
//! [`seed_world`]: super::fixtures::seed_world

use chrono::{NaiveDate, Utc};
use sea_orm::DatabaseConnection;

use super::TestApp;
use super::fixtures::{self, Ref, World};

/// Curriculum actors. Tokens act for the org each person works at.
#[derive(Clone, Debug)]
pub struct CurriculumPeople {
    /// programmeAdmin at the office (`admin-1`).
    pub admin: Ref,
    /// programmeStaff at the office (the world's `staff-1`).
    pub staff: Ref,
    /// academicLead of the world's academic unit `org-unit` (`lead-1`): owns the test units.
    pub lead: Ref,
    /// academicLead of another academic unit, `org-unit-2` (`lead-2`).
    pub other_lead: Ref,
    /// The second academic unit.
    pub other_unit: Ref,
    /// partnerCoordinator of partner X (the world's `pc-x`).
    pub coordinator_x: Ref,
    /// mentor of partner X (the world's `mentor-x`).
    pub mentor_x: Ref,
    /// partnerCoordinator of partner Y (`pc-y`).
    pub coordinator_y: Ref,
    /// mentor of partner Y (`mentor-y`).
    pub mentor_y: Ref,
    /// The teacher of school A (from the world).
    pub teacher_a: Ref,
    /// The coordinator of school A (from the world).
    pub school_coordinator_a: Ref,
}

fn since() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date")
}

/// A person with one active role at `org`.
pub async fn add_staff(db: &DatabaseConnection, sid: &str, org: &Ref, role: &str) -> Ref {
    let at = Utc::now();
    let person = fixtures::add_person(db, at, sid, "Test", sid, org.id).await;
    fixtures::add_role(
        db,
        at,
        &format!("ra-{sid}"),
        &person,
        org,
        role,
        since(),
        None,
    )
    .await;
    person
}

/// Adds the curriculum actors the world lacks.
pub async fn seed_curriculum_people(db: &DatabaseConnection, world: &World) -> CurriculumPeople {
    let office = &world.office;
    let admin = add_staff(db, "admin-1", office, "programmeAdmin").await;
    let lead = add_staff(db, "lead-1", &world.unit, "academicLead").await;
    let other_unit = add_org(db, "org-unit-2", "School of Communication (test)").await;
    let other_lead = add_staff(db, "lead-2", &other_unit, "academicLead").await;
    let partner_y = Ref {
        id: world.partners[1].id,
        sourced_id: world.partners[1].sourced_id.clone(),
        type_name: "Organization",
    };
    let coordinator_y = add_staff(db, "pc-y", &partner_y, "partnerCoordinator").await;
    let mentor_y = add_staff(db, "mentor-y", &partner_y, "mentor").await;
    CurriculumPeople {
        admin,
        staff: world.staff.clone(),
        lead,
        other_lead,
        other_unit,
        coordinator_x: world.partner_coordinator.clone(),
        mentor_x: world.mentor.clone(),
        coordinator_y,
        mentor_y,
        teacher_a: world.school_people[0].teacher.clone(),
        school_coordinator_a: world.school_people[0].coordinator.clone(),
    }
}

async fn add_org(db: &DatabaseConnection, sid: &str, name: &str) -> Ref {
    use entity::{STATUS_ACTIVE, org};
    use sea_orm::{EntityTrait, Set};
    let at = Utc::now();
    let id = org::Entity::insert(org::ActiveModel {
        sourced_id: Set(sid.to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some("fixture".to_owned())),
        modified_by: Set(Some("fixture".to_owned())),
        name_en: Set(name.to_owned()),
        name_zh: Set(None),
        org_type: Set("academicUnit".to_owned()),
        parent_id: Set(None),
        identifier_scheme: Set(None),
        identifier: Set(None),
        district: Set(None),
        school_finance_type: Set(None),
        industry_sectors: Set(None),
        website: Set(None),
        partner_since: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("insert org")
    .last_insert_id;
    Ref {
        id,
        sourced_id: sid.to_owned(),
        type_name: "Organization",
    }
}

/// A token for `person` with `roles`, acting for `org` (a sourcedId).
pub fn token_of(app: &TestApp, person: &Ref, roles: &[&str], org: &str) -> String {
    app.token_for(&person.sourced_id, roles, org)
}
